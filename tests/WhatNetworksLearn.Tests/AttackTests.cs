using WhatNetworksLearn.Adversarial;
using WhatNetworksLearn.Data;
using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

public class AttackTests
{
    static IAttack[] Attacks(VisionModel model, double epsilon) =>
        [new Fgsm(model, new FgsmOptions(epsilon)), new Pgd(model, new PgdOptions(epsilon, epsilon / 4, 10, Seed: 3)), new Apgd(model, new ApgdOptions(epsilon, 10, Seed: 3))];

    [Fact]
    public void Fgsm_on_a_linear_model_moves_exactly_the_corner_pixels_by_epsilon()
    {
        using var model = ToyModels.CornerDetector();
        // Dim enough that the softmax is not saturated in float32 (corner score 8), so the gradient is not zero.
        using var image = full(1, 1, 8, 8, 0.2f);
        using var labels = tensor(new long[] { 0 });
        // Untargeted from "corner": the loss of class 0 falls as the corner brightens, so the corner darkens by ε.
        using var away = new Fgsm(model, new FgsmOptions(0.1)).Run(image, labels);
        using var expected = zeros(1, 1, 8, 8);
        expected[0, 0, 0..2, 0..2] = full(2, 2, -0.1f);
        Assert.True(away.Perturbation.allclose(expected, atol: 1e-6));
        // Targeted at "corner" from a label of "other": the corner brightens by ε.
        using var toward = new Fgsm(model, new FgsmOptions(0.1)).Run(image, tensor(new long[] { 1 }), targets: 0);
        Assert.True(toward.Perturbation.allclose(-expected, atol: 1e-6));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.01)]
    [InlineData(0.1)]
    [InlineData(0.3)]
    public void Perturbations_stay_in_the_epsilon_ball_and_pixels_in_range(double epsilon)
    {
        using var model = FashionCnn.Load(CPU);
        using var sample = FashionMnist.LoadSample(limit: 16);
        foreach (var attack in Attacks(model, epsilon))
            foreach (int? target in new int?[] { null, 8 })
            {
                using var result = attack.Run(sample.Images, sample.Labels, target);
                Assert.True(result.Perturbation.abs().max().item<float>() <= epsilon + 1e-6);
                Assert.True(result.Adversarial.min().item<float>() >= 0 && result.Adversarial.max().item<float>() <= 1);
                Assert.True((result.Adversarial - sample.Images).allclose(result.Perturbation, atol: 1e-6));
            }
    }

    [Fact]
    public void Untargeted_attacks_lower_accuracy_and_report_the_models_own_predictions()
    {
        using var model = FashionCnn.Load(CPU);
        using var sample = FashionMnist.LoadSample(limit: 200);
        double clean = Accuracy(model.Probabilities(sample.Images).argmax(1), sample.Labels);
        using var pgd = new Pgd(model, new PgdOptions(0.1, 0.01, 20)).Run(sample.Images, sample.Labels);
        using var fgsm = new Fgsm(model, new FgsmOptions(0.1)).Run(sample.Images, sample.Labels);
        Assert.True(clean > 0.8, $"clean accuracy {clean}");
        Assert.True(Accuracy(pgd.AdversarialPrediction, sample.Labels) < 0.2, $"PGD accuracy {Accuracy(pgd.AdversarialPrediction, sample.Labels)}");
        Assert.True(Accuracy(fgsm.AdversarialPrediction, sample.Labels) < clean - 0.2);
        foreach (var result in new[] { pgd, fgsm })
        {
            using var recomputed = model.Probabilities(result.Adversarial);
            Assert.True(Same(recomputed.argmax(1), result.AdversarialPrediction));
            Assert.True(recomputed.max(1).values.allclose(result.AdversarialProbability, atol: 1e-5));
            Assert.True(Same(model.Probabilities(sample.Images).argmax(1), result.OriginalPrediction));
            Assert.True(Same(result.Success, result.AdversarialPrediction.ne(sample.Labels)));
        }
    }

    [Fact]
    public void Targeted_pgd_reaches_the_chosen_class_on_most_images()
    {
        using var model = FashionCnn.Load(CPU);
        using var sample = FashionMnist.LoadSample(limit: 200);
        int bag = model.ClassIndex("Bag");
        using var result = new Pgd(model, new PgdOptions(0.1, 0.01, 40)).Run(sample.Images, sample.Labels, bag);
        Assert.True(result.SuccessRate >= 0.9, $"success rate {result.SuccessRate}");
        Assert.True(Same(result.Success, result.AdversarialPrediction.eq(bag)));
    }

    [Fact]
    public void Pgd_is_deterministic_for_a_seed_and_the_seed_matters()
    {
        using var model = FashionCnn.Load(CPU);
        using var sample = FashionMnist.LoadSample(limit: 8);
        using var first = new Pgd(model, new PgdOptions(0.05, 0.01, 3, Seed: 7)).Run(sample.Images, sample.Labels);
        using var again = new Pgd(model, new PgdOptions(0.05, 0.01, 3, Seed: 7)).Run(sample.Images, sample.Labels);
        using var other = new Pgd(model, new PgdOptions(0.05, 0.01, 3, Seed: 8)).Run(sample.Images, sample.Labels);
        Assert.True(Same(first.Adversarial, again.Adversarial));
        Assert.False(Same(first.Adversarial, other.Adversarial));
    }

    [Fact]
    public void Bad_inputs_are_clear_errors()
    {
        using var model = ToyModels.CornerDetector();
        using var image = full(1, 1, 8, 8, 0.5f);
        using var labels = tensor(new long[] { 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new Fgsm(model, new FgsmOptions(-0.1)).Run(image, labels));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Pgd(model, new PgdOptions(-0.1)).Run(image, labels));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Pgd(model, new PgdOptions(Steps: -1)).Run(image, labels));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Pgd(model).Run(image, labels, targets: 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Fgsm(model).Run(image, tensor(new long[] { 5 })));
        Assert.Throws<ArgumentException>(() => new Fgsm(model).Run(image, tensor(new long[] { 0, 1 })));
        Assert.Throws<ArgumentException>(() => new Fgsm(model).Run(image + 0.6, labels));
        Assert.Throws<ArgumentException>(() => new Fgsm(model).Run(zeros(1, 3, 8, 8), labels));
    }

    [Fact]
    public void Works_on_an_imagenet_sized_network()
    {
        using var model = TorchVisionModels.CreateUntrained("resnet18", CPU);
        using var images = rand(2, 3, 224, 224, generator: new Generator(1));
        using var labels = tensor(new long[] { 1, 2 });
        using var result = new Pgd(model, new PgdOptions(0.03, 0.01, 2)).Run(images, labels, ImageNetClasses.Ostrich);
        Assert.Equal(new long[] { 2, 3, 224, 224 }, result.Adversarial.shape);
        Assert.Equal(new long[] { 2 }, result.AdversarialPrediction.shape);
        Assert.True(result.Perturbation.abs().max().item<float>() <= 0.03 + 1e-6);
        Assert.True(result.Adversarial.min().item<float>() >= 0 && result.Adversarial.max().item<float>() <= 1);
        Assert.True(model.Network.parameters().All(p => p.grad is null));
    }

    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    static double Accuracy(Tensor predictions, Tensor labels) => predictions.eq(labels).to_type(ScalarType.Float32).mean().item<float>();
}
