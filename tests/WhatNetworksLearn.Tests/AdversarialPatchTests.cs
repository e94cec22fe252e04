using WhatNetworksLearn.Adversarial;
using WhatNetworksLearn.Data;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Synthesis;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

public class AdversarialPatchTests(ITestOutputHelper output)
{
    const int Bag = 8, Sandal = 5;

    [Fact]
    public void Pasting_at_an_integer_position_copies_the_patch_exactly_and_leaves_every_other_pixel_untouched()
    {
        // Not square, so a mix-up of height and width would show.
        var images = rand(new long[] { 2, 3, 10, 12 }, generator: new Generator(1));
        var patch = rand(new long[] { 3, 4, 4 }, generator: new Generator(2));
        var placements = new[] { PatchPlacement.AtTopLeft(left: 3, top: 2, patchSize: 4), PatchPlacement.AtTopLeft(left: 8, top: 6, patchSize: 4) };

        var pasted = PatchPasting.Paste(images, patch, placements);
        var mask = PatchPasting.Mask(10, 12, 4, placements);

        var expected = images.clone();
        expected[0, .., 2..6, 3..7] = patch;
        expected[1, .., 6..10, 8..12] = patch;
        var expectedMask = zeros(2, 1, 10, 12);
        expectedMask[0, .., 2..6, 3..7] = ones(1, 4, 4);
        expectedMask[1, .., 6..10, 8..12] = ones(1, 4, 4);
        Assert.True(Same(pasted, expected), "pasted images differ from the hand-made ones");
        Assert.True(Same(mask, expectedMask), "the mask is not exactly 1 on the patch and 0 elsewhere");
    }

    [Fact]
    public void A_quarter_turn_turns_the_patch_clockwise_on_the_screen()
    {
        var image = zeros(1, 1, 8, 8);
        var patch = arange(9, ScalarType.Float32).reshape(1, 3, 3) / 8;   // rows 0 1 2 / 3 4 5 / 6 7 8
        var pasted = PatchPasting.Paste(image, patch, [new PatchPlacement(4.5, 3.5, Scale: 1, Degrees: 90)]);
        // Turned clockwise, the left column (0 3 6) becomes the top row read right to left: 6 3 0.
        var expected = image.clone();
        expected[0, 0, 2..5, 3..6] = tensor(new float[] { 6, 3, 0, 7, 4, 1, 8, 5, 2 }).reshape(3, 3) / 8;
        Assert.True(pasted.allclose(expected, atol: 1e-6), pasted[0, 0].ToString(TorchSharp.TensorStringStyle.Numpy));
    }

    [Fact]
    public void At_scale_two_each_patch_pixel_spreads_with_bilinear_weights_worked_out_by_hand()
    {
        // A 2 x 2 patch centred on (4, 4) at scale 2 spans pixels 2 to 5. Pixel centre x + 0.5 reads the patch at
        // (x + 0.5 - 4) / 2 + 1 patch pixels, i.e. between its pixel centres 0.5 and 1.5 (zero beyond them):
        // pixels 1..6 read 0.25 p0, 0.75 p0, 0.75 p0 + 0.25 p1, 0.25 p0 + 0.75 p1, 0.75 p1, 0.25 p1. Rows alike.
        var weights = tensor(new float[] { 0, 0, 0.25f, 0, 0.75f, 0, 0.75f, 0.25f, 0.25f, 0.75f, 0, 0.75f, 0, 0.25f, 0, 0 }).reshape(8, 2);
        var patch = tensor(new float[] { 0.2f, 0.4f, 0.6f, 0.8f }).reshape(1, 2, 2);
        var read = weights.matmul(patch[0]).matmul(weights.T);
        var mask = weights.matmul(ones(2, 2)).matmul(weights.T);
        var image = full(1, 1, 8, 8, 0.5f);
        var placements = new[] { new PatchPlacement(4, 4, Scale: 2) };

        var pasted = PatchPasting.Paste(image, patch, placements);

        Assert.True(pasted[0, 0].allclose(0.5f * (1 - mask) + read, atol: 1e-6), pasted[0, 0].ToString(TorchSharp.TensorStringStyle.Numpy));
        Assert.True(PatchPasting.Mask(8, 8, 2, placements)[0, 0].allclose(mask, atol: 1e-6));
        Assert.Equal(16, mask.sum().item<float>(), 4);   // the weights add up to the scaled patch's area, (2 x 2)²
        // The turned, scaled square reaches (side x scale / 2)(|cos| + |sin|) from its centre: 6 x (cos 30° + sin 30°).
        Assert.Equal(6 * (Math.Sqrt(3) / 2 + 0.5), new PatchPlacement(0, 0, Scale: 1.2, Degrees: -30).HalfExtent(10), 10);
    }

    [Fact]
    public void Random_placements_keep_the_whole_turned_and_scaled_patch_inside_the_image()
    {
        using var model = ModelRegistry.Load("fashion-cnn");
        var options = new PatchOptions(PatchSize: 8, MinScale: 0.8, MaxScale: 1.6, MaxDegrees: 45);
        var placements = new AdversarialPatch(model, options).RandomPlacements(300, seed: 4);
        foreach (var p in placements)
        {
            double half = p.HalfExtent(8);
            Assert.InRange(p.CenterX, half - 1e-6, 28 - half + 1e-6);
            Assert.InRange(p.CenterY, half - 1e-6, 28 - half + 1e-6);
            Assert.InRange(p.Scale, 0.8, 1.6);
            Assert.InRange(p.Degrees, -45, 45);
        }
        // The placements spread over the image and the angles over their range.
        Assert.True(placements.Max(p => p.CenterX) - placements.Min(p => p.CenterX) > 10);
        Assert.True(placements.Max(p => p.Degrees) > 35 && placements.Min(p => p.Degrees) < -35);
        // Nothing is cut off: the mask holds the patch's whole area, (8 x scale)², up to bilinear edge effects.
        var covered = PatchPasting.Mask(28, 28, 8, placements).sum([1, 2, 3]).data<float>().ToArray();
        for (int i = 0; i < placements.Count; i++)
            Assert.InRange(covered[i], 0.93 * Math.Pow(8 * placements[i].Scale, 2), 1.07 * Math.Pow(8 * placements[i].Scale, 2));
    }

    [Fact]
    public void A_patch_that_cannot_fit_into_the_image_is_refused_with_a_clear_message()
    {
        using var model = ModelRegistry.Load("fashion-cnn");
        var images = FashionMnist.LoadSample(4).Images;
        var tooLarge = Assert.Throws<ArgumentException>(() => new AdversarialPatch(model, new PatchOptions(PatchSize: 30)).Train(images, Bag));
        Assert.Contains("28 x 28", tooLarge.Message);
        // 20 pixels fit unturned, but not at scale 1.2 turned by 30°: 20 x 1.2 x (cos 30° + sin 30°) ≈ 32.8 pixels.
        var turned = Assert.Throws<ArgumentException>(() => new AdversarialPatch(model, new PatchOptions(PatchSize: 20)).Train(images, Bag));
        Assert.Contains("MaxDegrees", turned.Message);
        Assert.Throws<ArgumentException>(() => PatchPasting.Paste(images, zeros(1, 30, 30), PlacedAtCorner(4, 30)));
    }

    [Fact]
    public void The_gradient_of_pasted_images_reaches_the_patch_where_it_is_and_the_images_only_outside_it()
    {
        var images = rand(new long[] { 3, 1, 9, 9 }, generator: new Generator(3)).requires_grad_(true);
        var patch = rand(new long[] { 1, 4, 4 }, generator: new Generator(4)).requires_grad_(true);
        var placements = new[] { PatchPlacement.AtTopLeft(0, 0, 4), PatchPlacement.AtTopLeft(5, 5, 4), PatchPlacement.AtTopLeft(2, 3, 4) };
        var weights = rand(new long[] { 3, 1, 9, 9 }, generator: new Generator(5));
        var loss = (PatchPasting.Paste(images, patch, placements) * weights).sum();
        loss.backward();
        var mask = PatchPasting.Mask(9, 9, 4, placements);
        // d loss / d image = weight where the image shows, 0 under the patch.
        Assert.True(images.grad!.allclose(weights * (1 - mask), atol: 1e-6));
        // d loss / d patch pixel = sum over the images of the weight of the pixel it landed on.
        var expected = weights[0, .., 0..4, 0..4] + weights[1, .., 5..9, 5..9] + weights[2, .., 3..7, 2..6];
        Assert.True(patch.grad!.allclose(expected, atol: 1e-6));
    }

    [Fact]
    public void The_paste_transform_puts_the_patch_into_a_random_batch_of_the_training_images()
    {
        using var scope = NewDisposeScope();
        var images = rand(new long[] { 5, 1, 28, 28 }, generator: new Generator(8)) * 0.9f;   // never exactly 1
        var options = new PatchOptions(PatchSize: 6, BatchSize: 3, MinScale: 1, MaxScale: 1, MaxDegrees: 0);
        var pasted = new PasteIntoImages(images, options).Apply(ones(1, 1, 6, 6), new Generator(1));
        Assert.Equal(new long[] { 3, 1, 28, 28 }, pasted.shape);
        for (int b = 0; b < 3; b++)
        {
            // One of the training images, changed only where the 6 x 6 patch lies: at least its 36 pixels, at most the
            // 7 x 7 it touches at a fractional position. The patch's pixels are ones wherever it covers a pixel fully.
            var changed = Enumerable.Range(0, 5).Select(i => pasted[b].ne(images[i]).sum().item<long>()).ToList();
            Assert.InRange(changed.Min(), 36, 49);
            Assert.InRange(pasted[b].eq(1).sum().item<long>(), 25, 36);
        }
        Assert.Throws<ArgumentException>(() => new PasteIntoImages(images, options with { PatchSize = 40 }));
    }

    [Fact]
    public void Training_changes_only_the_patch_never_the_images_or_the_network()
    {
        using var model = ModelRegistry.Load("fashion-cnn");
        var images = FashionMnist.LoadSample(64).Images;
        var before = images.clone();
        var weights = model.Module.parameters().Select(p => p.detach().clone()).ToList();
        using var training = new AdversarialPatch(model, new PatchOptions(PatchSize: 8, Steps: 5, BatchSize: 16)).Train(images, Bag);
        Assert.True(Same(images, before));
        Assert.All(model.Module.parameters().Zip(weights), pair =>
        {
            Assert.True(pair.First.grad is null || pair.First.grad.abs().max().item<float>() == 0, "a network weight received a gradient");
            Assert.True(Same(pair.First, pair.Second), "a network weight changed");
        });
        Assert.Equal(new long[] { 1, 8, 8 }, training.Patch.shape);
        Assert.Equal(5, training.TargetProbability.Count);
    }

    [Fact]
    public void Training_lowers_the_cross_entropy_to_the_target_on_its_own_images()
    {
        using var model = ModelRegistry.Load("fashion-cnn");
        using var sample = FashionMnist.LoadSample(32);
        var options = new PatchOptions(PatchSize: 8, Steps: 20, BatchSize: 16, Seed: 2);
        var attack = new AdversarialPatch(model, options);
        using var untrained = new AdversarialPatch(model, options with { Steps = 0 }).Train(sample.Images, Sandal);
        using var trained = attack.Train(sample.Images, Sandal);
        var placements = attack.RandomPlacements(32, seed: 9);
        double Loss(Tensor patch) => nn.functional.cross_entropy(model.Forward(PatchPasting.Paste(sample.Images, patch, placements)),
            full(32, (long)Sandal)).item<float>();
        output.WriteLine($"cross-entropy to Sandal: start {Loss(untrained.Patch):F2}, after 20 steps {Loss(trained.Patch):F2}");
        // The start is the seed's noise patch; measured: 13.8 falling to 9.9.
        Assert.True(Same(untrained.Patch, attack.NoisePatch(options.Seed)));
        Assert.True(Loss(trained.Patch) < Loss(untrained.Patch) - 1, $"{Loss(untrained.Patch)} -> {Loss(trained.Patch)}");
    }

    [Fact]
    public void The_held_out_curve_is_measured_on_the_held_out_images_at_fixed_placements_not_on_the_training_batches()
    {
        using var model = ModelRegistry.Load("fashion-cnn");
        using var sample = FashionMnist.LoadSample(300);
        var (training, heldOut, heldOutLabels) = (sample.Images[..100], sample.Images[100..], sample.Labels[100..]);
        var options = new PatchOptions(Steps: 10, BatchSize: 16, Seed: 3);
        var attack = new AdversarialPatch(model, options);
        using var trained = attack.Train(training, Sandal, new PatchHeldOut(heldOut, heldOutLabels, Every: 4, Seed: 7));
        // Before the first step, every 4 steps, and after the last: each the success of the patch of that moment on the
        // held-out images at the placements Evaluate draws with the same seed.
        Assert.Equal([0, 4, 8, 10], trained.HeldOutSuccess.Select(p => p.Step));
        using (var start = attack.Evaluate(attack.NoisePatch(options.Seed), heldOut, heldOutLabels, Sandal, seed: 7))
            Assert.Equal(start.SuccessRate, trained.HeldOutSuccess[0].SuccessRate);
        using (var end = attack.Evaluate(trained.Patch, heldOut, heldOutLabels, Sandal, seed: 7))
            Assert.Equal(end.SuccessRate, trained.HeldOutSuccess[^1].SuccessRate);

        // Steps too small to change a pixel: the held-out curve stays exactly flat (same images, same placements),
        // while the probability on each step's batch wanders with the batch's images and placements.
        using var still = new AdversarialPatch(model, options with { StepSize = 1e-12 })
            .Train(training, Sandal, new PatchHeldOut(heldOut, heldOutLabels, Every: 2, Seed: 7));
        Assert.True(still.Patch.allclose(attack.NoisePatch(options.Seed), rtol: 0, atol: 1e-9));
        Assert.Single(still.HeldOutSuccess.Select(p => p.SuccessRate).Distinct());
        Assert.True(still.TargetProbability.Distinct().Count() > 5, string.Join(", ", still.TargetProbability));
        Assert.Throws<ArgumentOutOfRangeException>(() => attack.Train(training, Sandal, new PatchHeldOut(heldOut, heldOutLabels, Every: 0)));
    }

    [Fact]
    public void A_tenth_of_the_image_trained_settles_and_makes_held_out_images_sandals_far_more_often_than_noise()
    {
        using var model = ModelRegistry.Load("fashion-cnn");
        using var sample = FashionMnist.LoadSample(1300);
        var options = new PatchOptions(Steps: 100, Seed: 1);   // 9 x 9 at scale 0.8 to 1.2, batches of 32
        var attack = new AdversarialPatch(model, options);
        var heldOut = sample.Images[1000..];
        var heldOutLabels = sample.Labels[1000..];
        using var training = attack.Train(sample.Images[..1000], Sandal, new PatchHeldOut(heldOut, heldOutLabels, Every: 5, Seed: 7));
        using var noise = attack.Evaluate(attack.NoisePatch(seed: 3), heldOut, heldOutLabels, Sandal, seed: 7);
        double trained = training.HeldOutSuccess[^1].SuccessRate;
        var lastTenth = training.HeldOutSuccess.Where(p => p.Step >= 90).Select(p => p.SuccessRate).ToList();
        output.WriteLine($"trained {trained:P1}, noise {noise.SuccessRate:P1}, last tenth {lastTenth.Min():P1} to {lastTenth.Max():P1}; curve {string.Join(", ", training.HeldOutSuccess.Select(p => $"{p.Step}: {p.SuccessRate:P1}"))}");
        // Measured: 10.3 % against 1.1 %, the same at steps 90, 95 and 100; the start (noise) patch 1.1 %, 8.7 % after 5 steps.
        Assert.True(trained > noise.SuccessRate + 0.05 && trained > 3 * noise.SuccessRate, $"trained {trained}, noise {noise.SuccessRate}");
        Assert.True(lastTenth.Max() - lastTenth.Min() < 0.02, string.Join(", ", lastTenth));
        Assert.True(training.HeldOutSuccess[0].SuccessRate < trained / 3, $"before the first step {training.HeldOutSuccess[0].SuccessRate}, at the end {trained}");
    }

    [Fact]
    public void A_fixed_seed_gives_the_same_patch_and_evaluation_and_another_seed_a_different_patch()
    {
        using var model = ModelRegistry.Load("fashion-cnn");
        using var sample = FashionMnist.LoadSample(100);
        PatchTraining Run(int seed) => new AdversarialPatch(model, new PatchOptions(Steps: 6, BatchSize: 8, Seed: seed)).Train(sample.Images, Bag);
        using var first = Run(3);
        using var again = Run(3);
        using var other = Run(4);
        Assert.True(Same(first.Patch, again.Patch));
        Assert.Equal(first.TargetProbability, again.TargetProbability);
        Assert.False(Same(first.Patch, other.Patch));

        var attack = new AdversarialPatch(model);
        using var evaluation = attack.Evaluate(first.Patch, sample.Images, sample.Labels, Bag, seed: 2);
        using var repeated = attack.Evaluate(first.Patch, sample.Images, sample.Labels, Bag, seed: 2);
        Assert.True(Same(evaluation.Patched, repeated.Patched));
        Assert.Equal(evaluation.Placements, repeated.Placements);
        // Paste with the same seed puts the patch where Evaluate did.
        Assert.True(Same(attack.Paste(sample.Images, first.Patch, seed: 2), evaluation.Patched));
    }

    [Fact]
    public void Evaluation_reports_the_models_answers_on_the_patched_images_and_skips_the_target_class_in_the_rate()
    {
        using var model = ModelRegistry.Load("fashion-cnn");
        using var sample = FashionMnist.LoadSample(200);
        var attack = new AdversarialPatch(model, new PatchOptions(BatchSize: 64));   // 200 images: the last chunk is partial
        using var evaluation = attack.Evaluate(attack.NoisePatch(5), sample.Images, sample.Labels, Bag, seed: 3);
        Assert.True(Same(evaluation.Patched, PatchPasting.Paste(sample.Images, attack.NoisePatch(5), evaluation.Placements)));
        var predicted = model.Probabilities(evaluation.Patched).cpu();
        Assert.True(Same(evaluation.PatchedPrediction, predicted.argmax(1)));
        Assert.True(evaluation.TargetProbability.allclose(predicted[.., Bag], atol: 1e-5));
        Assert.True(Same(evaluation.CleanPrediction, model.Probabilities(sample.Images).cpu().argmax(1)));
        var notBag = sample.Labels.ne(Bag);
        double expected = evaluation.PatchedPrediction[notBag].eq(Bag).to_type(ScalarType.Float64).mean().item<double>();
        Assert.Equal(expected, evaluation.SuccessRate, 10);
        Assert.True(sample.Labels.eq(Bag).any().item<bool>(), "the sample should contain bags for this test to mean something");
    }

    [Fact]
    public void Patch_pixels_stay_in_range_even_with_huge_steps()
    {
        using var model = ModelRegistry.Load("fashion-cnn");
        using var sample = FashionMnist.LoadSample(64);
        var options = new PatchOptions(Steps: 5, BatchSize: 16, StepSize: 2);
        using var training = new AdversarialPatch(model, options).Train(sample.Images, Bag);
        Assert.True(training.Patch.min().item<float>() >= 0 && training.Patch.max().item<float>() <= 1);
        Assert.True(training.Patch.eq(0).any().item<bool>() && training.Patch.eq(1).any().item<bool>(), "steps this large should push pixels onto both bounds");
    }

    [Fact]
    public void Bad_requests_are_refused_with_messages_that_say_what_to_change()
    {
        using var model = ModelRegistry.Load("fashion-cnn");
        using var sample = FashionMnist.LoadSample(8);
        var attack = new AdversarialPatch(model, new PatchOptions(PatchSize: 8));
        Assert.Throws<ArgumentOutOfRangeException>(() => attack.Train(sample.Images, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => attack.Train(sample.Images, -1));
        var steps = Assert.Throws<ArgumentOutOfRangeException>(() => new AdversarialPatch(model, new PatchOptions(Steps: -1)).Train(sample.Images, Bag));
        Assert.Contains("0 or more", steps.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdversarialPatch(model, new PatchOptions(BatchSize: 0)).Train(sample.Images, Bag));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdversarialPatch(model, new PatchOptions(PatchSize: 0)).Train(sample.Images, Bag));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdversarialPatch(model, new PatchOptions(MinScale: 0)).Train(sample.Images, Bag));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdversarialPatch(model, new PatchOptions(MinScale: 1.2, MaxScale: 1)).Train(sample.Images, Bag));
        Assert.Throws<ArgumentException>(() => attack.Train(sample.Images * 255, Bag));
        Assert.Throws<ArgumentException>(() => attack.Train(zeros(2, 3, 28, 28), Bag));
        Assert.Throws<ArgumentException>(() => attack.Train(zeros(0, 1, 28, 28), Bag));
        var channels = Assert.Throws<ArgumentException>(() => attack.Evaluate(zeros(3, 8, 8), sample.Images, sample.Labels, Bag));
        Assert.Contains("[1, 8, 8]", channels.Message);
        Assert.Throws<ArgumentException>(() => attack.Evaluate(full(1, 8, 8, 2f), sample.Images, sample.Labels, Bag));
        Assert.Throws<ArgumentException>(() => PatchPasting.Paste(sample.Images, zeros(1, 8, 8), PlacedAtCorner(3, 8)));
        Assert.Throws<ArgumentException>(() => PatchPasting.Paste(sample.Images, zeros(1, 8, 8), [new PatchPlacement(4, 4, Scale: 0)]));
    }

    [Fact]
    public void Trains_and_evaluates_a_colour_patch_on_resnet18()
    {
        using var model = TorchVisionModels.CreateUntrained("resnet18", CPU);
        var images = rand(new long[] { 3, 3, 224, 224 }, generator: new Generator(6));
        var attack = new AdversarialPatch(model, new PatchOptions(PatchSize: 50, Steps: 2, BatchSize: 2));
        using var training = attack.Train(images, ImageNetClasses.Toaster);
        Assert.Equal(new long[] { 3, 50, 50 }, training.Patch.shape);
        Assert.False(Same(training.Patch, attack.NoisePatch(0)), "two steps should have changed the start patch");
        using var evaluation = attack.Evaluate(training.Patch, images, tensor(new long[] { 1, 2, 3 }), ImageNetClasses.Toaster);
        Assert.Equal(new long[] { 3, 3, 224, 224 }, evaluation.Patched.shape);
        Assert.Equal(new long[] { 3 }, evaluation.Success.shape);
        Assert.InRange(evaluation.SuccessRate, 0, 1);
    }

    [Fact]
    public void The_size_sweep_judges_each_trained_patch_and_a_noise_patch_on_the_held_out_images()
    {
        using var model = ModelRegistry.Load("fashion-cnn");
        using var sample = FashionMnist.LoadSample(100);
        var (training, heldOut, heldOutLabels) = (sample.Images[..50], sample.Images[50..], sample.Labels[50..]);
        var options = new PatchOptions(Steps: 3, BatchSize: 8);
        var sizes = PatchSizes.Sweep(model, training, heldOut, heldOutLabels, Sandal, [4, 6], [1, 2], options, heldOutSeed: 7);

        Assert.Equal([4, 6], sizes.Select(r => r.Side));
        Assert.Equal([16 / 784.0, 36 / 784.0], sizes.Select(r => r.ImageShare));
        // The second seed's 6 x 6 patch, trained again alone, and judged at the held-out placements of seed 7.
        var attack = new AdversarialPatch(model, options with { PatchSize = 6, Seed = 2 });
        using var again = attack.Train(training, Sandal);
        using (var judged = attack.Evaluate(again.Patch, heldOut, heldOutLabels, Sandal, seed: 7))
            Assert.Equal(judged.SuccessRate, sizes[1].TrainedSuccess[1]);
        using (var noise = attack.Evaluate(attack.NoisePatch(1), heldOut, heldOutLabels, Sandal, seed: 7))
            Assert.Equal(noise.SuccessRate, sizes[1].NoiseSuccess);
        Assert.All(sizes, r => Assert.All(r.LastTenthSpread, spread => Assert.InRange(spread, 0, 1)));
    }

    [Fact]
    public void The_shipped_patch_size_results_use_the_default_settings_and_read_back_as_written()
    {
        var shipped = PatchSizes.Read();
        var defaults = new PatchOptions();
        Assert.Equal(PatchSizeSettings.Of(defaults), shipped.Options);   // so notebook 14's patch is one of its rows
        Assert.Contains(shipped.Sizes, r => r.Side == defaults.PatchSize);
        Assert.Equal(shipped.Sizes.Select(r => r.Side).Order(), shipped.Sizes.Select(r => r.Side));
        Assert.All(shipped.Sizes, r =>
        {
            Assert.Equal(r.Side * r.Side / 784.0, r.ImageShare, 12);
            Assert.Equal(r.Seeds.Length, r.TrainedSuccess.Length);
            Assert.All(r.TrainedSuccess.Append(r.NoiseSuccess), v => Assert.InRange(v, 0, 1));
        });
        var copy = Path.Combine(Path.GetTempPath(), $"patch-sizes-{Guid.NewGuid():N}.json");
        try
        {
            shipped.Write(copy);
            Assert.Equal(File.ReadAllText(PatchSizes.FilePath), File.ReadAllText(copy));
        }
        finally { File.Delete(copy); }
        var missing = Assert.Throws<FileNotFoundException>(() => PatchSizes.Read(copy));
        Assert.Contains("data/models/patch-sizes", missing.Message);
    }

    /// <summary>Same shape and every element equal.</summary>
    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.equal(b).all().item<bool>();

    static PatchPlacement[] PlacedAtCorner(int count, int patchSize) =>
        Enumerable.Repeat(PatchPlacement.AtTopLeft(0, 0, patchSize), count).ToArray();
}
