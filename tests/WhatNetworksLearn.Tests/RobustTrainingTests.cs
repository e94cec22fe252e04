using WhatNetworksLearn.Adversarial;
using WhatNetworksLearn.Attribution;
using WhatNetworksLearn.Data;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Models.Training;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

/// <summary>fashion-cnn-robust: how it is made, how its robustness is measured, and the statistic notebook 20 reports.</summary>
public class RobustTrainingTests
{
    [Fact]
    public void The_shipped_robust_model_was_made_by_its_command_with_the_kits_robust_settings()
    {
        var manifest = ShippedWeights.Manifest(FashionCnn.RobustName);
        var settings = TrainingOptions.RobustFineTuning();
        Assert.Equal("dotnet run -c Release --project data/models/train -- --robust", manifest.Command);
        Assert.Equal(settings.Epochs, manifest.Epochs);
        Assert.Equal(settings.LearningRate, manifest.LearningRate);
        Assert.Equal(settings.Epsilon, manifest.Robustness!.Epsilon);
        Assert.StartsWith(settings.AttackName, manifest.Robustness.Training);   // the attack the defaults train against made it
        Assert.Equal(FashionCnn.Name, manifest.Robustness.StartFrom);
        // The epoch kept is the one of highest PGD-10 accuracy, and its clean accuracy is the one reported.
        var kept = manifest.History.MaxBy(e => e.RobustAccuracy)!;
        Assert.Equal(kept.Epoch, manifest.Robustness.KeptEpoch);
        Assert.Equal(kept.TestAccuracy, manifest.TestAccuracy);
        using var model = ModelRegistry.Load(FashionCnn.RobustName, CPU);
        Assert.Equal(FashionCnn.RobustName, model.Name);
    }

    [Fact]
    public void A_short_run_of_the_robust_fine_tuning_lowers_the_loss_on_attacked_batches()
    {
        using var sample = FashionMnist.LoadSample();
        using var train = new FashionMnist.LabeledImages(sample.Images.narrow(0, 0, 1500), sample.Labels.narrow(0, 0, 1500));
        using var test = new FashionMnist.LabeledImages(sample.Images.narrow(0, 1500, 500), sample.Labels.narrow(0, 1500, 500));
        var options = TrainingOptions.RobustFineTuning() with { Epochs = 2, CheckImages = 200 };
        var (network, history) = FashionCnnTraining.Train(options, train, test, CPU);
        network.Dispose();
        Assert.Equal(2, history.Count);
        Assert.True(history[1].TrainLoss < history[0].TrainLoss, $"loss {history[0].TrainLoss:F3} then {history[1].TrainLoss:F3}");
        Assert.All(history, e => Assert.InRange(e.RobustAccuracy!.Value, 0, 1));
    }

    [Fact]
    public void The_training_batch_is_one_step_of_one_and_a_quarter_epsilon_from_the_random_start_kept_in_the_ball()
    {
        // A gradient of +1 everywhere: the start moves up by 1.25 ε, then the ball cuts it to the image + ε (and [0,1] to 1).
        using var images = tensor(new float[] { 0.5f, 0.95f, 0.0f, 0.3f }).reshape(1, 1, 2, 2);
        using var noise = tensor(new float[] { -1f, 0f, 1f, -0.2f }).reshape(1, 1, 2, 2);
        using var batch = FashionCnnTraining.AttackFromRandomStart(x => ones_like(x), images, noise, 0.1);
        // starts 0.4, 0.95, 0.1, 0.28; after the step 0.525, 1.075, 0.225, 0.405; in the ball 0.525, 1.05 -> 1, 0.1, 0.4.
        Assert.True(batch.allclose(tensor(new float[] { 0.525f, 1f, 0.1f, 0.4f }).reshape(1, 1, 2, 2), atol: 1e-6));
    }

    [Fact]
    public void Pgd_training_batches_take_k_steps_of_two_and_a_half_epsilon_over_k_each_projected()
    {
        // ε = 0.1, 4 iterations: steps of 0.0625. A gradient that points up where the pixel is below 0.45 and down
        // elsewhere: pixel 0.2 (start 0.15) climbs 0.2125, 0.275, 0.3375 -> 0.3 (the ball), 0.3; pixel 0.6 (start
        // 0.65) falls 0.5875, 0.525, 0.4625 -> 0.5, 0.5; pixel 0.02 (start −0.08, clamped to 0) climbs 0.0625, 0.125 -> 0.12.
        using var images = tensor(new float[] { 0.2f, 0.6f, 0.02f }).reshape(1, 1, 1, 3);
        using var noise = tensor(new float[] { -0.5f, 0.5f, -1f }).reshape(1, 1, 1, 3);
        var calls = 0;
        using var batch = FashionCnnTraining.AttackFromRandomStart(x => { calls++; return where(x < 0.45, 1f, -1f); }, images, noise, 0.1, 4);
        Assert.Equal(4, calls);
        Assert.True(batch.allclose(tensor(new float[] { 0.3f, 0.5f, 0.12f }).reshape(1, 1, 1, 3), atol: 1e-6), batch.ToString(TorchSharp.TensorStringStyle.Julia));
    }

    [Fact]
    public void A_training_batch_with_noise_of_another_shape_or_a_bad_budget_is_refused()
    {
        using var images = zeros(1, 1, 2, 2);
        using var wide = zeros(1, 1, 2, 3);
        Assert.Contains("the images' shape [1, 1, 2, 2]", Assert.Throws<ArgumentException>(() => FashionCnnTraining.AttackFromRandomStart(x => x, images, wide, 0.1)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => FashionCnnTraining.AttackFromRandomStart(x => x, images, images, -0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => FashionCnnTraining.AttackFromRandomStart(x => x, images, images, 0.1, iterations: 0));
    }

    [Fact]
    public void Robust_accuracy_counts_only_images_that_survive_every_attack()
    {
        using var model = FashionCnn.Load(CPU);
        using var sample = FashionMnist.LoadSample(limit: 64);
        var options = new RobustnessOptions(0.02, PgdSteps: 5, PgdRestarts: 2, ApgdIterations: 5);
        var result = RobustAccuracy.Evaluate(model, sample.Images, sample.Labels, options);
        // The first count is the first PGD run's alone, on the images the network got right.
        var predictions = model.Predict(sample.Images);
        var right = Enumerable.Range(0, 64).Where(i => predictions[i].Class == sample.Labels[i].item<long>()).Select(i => (long)i).ToArray();
        using var index = tensor(right);
        using var labels = sample.Labels.index_select(0, index);
        using var first = new Pgd(model, new PgdOptions(0.02, 2.5 * 0.02 / 5, 5, Seed: 0)).Run(sample.Images.index_select(0, index), labels);
        Assert.Equal(right.Length, result.Clean);
        Assert.Equal(first.AdversarialPrediction.eq(labels).sum().item<long>(), result.AfterFirstPgd);
        Assert.True(result.Clean >= result.AfterFirstPgd && result.AfterFirstPgd >= result.AfterPgd && result.AfterPgd >= result.Robust);
        Assert.True(result.Robust < result.Clean, "ε = 0.02 breaks some of fashion-cnn's answers");
        // No budget, nothing breaks.
        var none = RobustAccuracy.Evaluate(model, sample.Images, sample.Labels, options with { Epsilon = 0 });
        Assert.Equal(none.Clean, none.Robust);
    }

    [Fact]
    public void The_share_on_the_object_is_pooled_over_the_images_by_area()
    {
        using var maps = tensor(new float[] { 1, 0, 0, -1, 1, 1, 1, 1 }).reshape(2, 2, 2);   // magnitudes: the sign does not matter
        using var masks = tensor(new float[] { 1, 0, 0, 0, 1, 1, 0, 0 }).reshape(2, 2, 2);
        var (concentration, share, area) = MapStatistics.OnObject(maps, masks);
        // Shares 1/2 and 1/2, areas 1/4 and 1/2: (1/2 + 1/2) / (1/4 + 1/2) = 4/3.
        Assert.Equal(4.0 / 3, concentration, 9);
        Assert.Equal(0.5, share, 9);
        Assert.Equal(0.375, area, 9);
        Assert.Throws<ArgumentException>(() => MapStatistics.OnObject(zeros(2, 2), ones(2, 2)));
        Assert.Throws<ArgumentException>(() => MapStatistics.OnObject(maps, ones(2, 2)));
    }
}
