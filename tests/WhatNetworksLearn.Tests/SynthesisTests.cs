using WhatNetworksLearn.Models;
using WhatNetworksLearn.Synthesis;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

/// <summary>The shared loop, its pieces, and class-model visualisation.</summary>
public class SynthesisTests
{
    /// <summary>
    /// A small random colour CNN (3 x 32 x 32, 5 classes) with the layers conv1, relu1, pool1, conv2, relu2, pool2, flatten, fc.
    /// (At least 16 channels per convolution: on this kit's 2-core AMD test machine, libtorch's multi-threaded oneDNN
    /// convolution returns wrong input gradients for 8 output channels and batches of two or more.)
    /// </summary>
    internal static VisionModel SmallCnn(int seed = 1)
    {
        manual_seed(seed);
        var network = nn.Sequential(
            ("conv1", nn.Conv2d(3, 16, 3, padding: 1)), ("relu1", nn.ReLU()), ("pool1", nn.MaxPool2d(2)),
            ("conv2", nn.Conv2d(16, 32, 3, padding: 1)), ("relu2", nn.ReLU()), ("pool2", nn.AdaptiveAvgPool2d(1)),
            ("flatten", nn.Flatten()), ("fc", nn.Linear(32, 5)));
        return new VisionModel("small-cnn", "random weights", network, new InputSpec(3, 32, 32, [0.5f, 0.5f, 0.5f], [0.25f, 0.25f, 0.25f]),
            ["a", "b", "c", "d", "e"], null, CPU);
    }

    /// <summary>Same shape and exactly the same values.</summary>
    internal static bool Identical(Tensor a, Tensor b)
    {
        if (!a.shape.SequenceEqual(b.shape))
            return false;
        using var same = a.eq(b).all();
        return same.item<bool>();
    }

    [Fact]
    public void The_start_gradient_of_a_linear_classifier_is_the_mean_size_of_its_weights()
    {
        // Scores W x + b: the gradient of class c's score is row c of W wherever the start is, so its mean size over
        // classes 0 and 2 is the mean of |W| over those two rows.
        var weight = tensor(new float[] { 1, -2, 3, -4, 0.5f, 0.5f, 0.5f, 0.5f, -8, 0, 0, 0 }).reshape(3, 4);
        var model = ToyModels.Linear(weight, zeros(3), 2, 2);
        Assert.Equal((1 + 2 + 3 + 4 + 8) / 8.0, ActivationMaximization.StartGradientSize(model, [0, 2]), 5);
        Assert.Equal(0.5, ActivationMaximization.StartGradientSize(model, [1], new MaximizationOptions(Background: 0.7)), 5);
    }

    [Fact]
    public void Gradient_ascent_on_a_linear_score_with_L2_reaches_the_hand_computed_optimum()
    {
        // Score of class 0 = 10 x (sum of the 2 x 2 corner). Objective 10 s - 10 |I|^2 has gradient 10 - 20 I at the corner
        // and -20 I elsewhere: the optimum is 0.5 at the corner and 0 elsewhere. With rate 0.025 the distance halves each step.
        using var model = ToyModels.CornerDetector();
        var objective = Objective.ClassScore(0) - 10 * Objective.L2();
        using var image = PixelImage.Constant(1, 1, 8, 8, 0, CPU);
        var options = new OptimizationOptions(Steps: 1) { StepRule = new GradientAscent(0.025), Regularizers = [] };
        using (var first = InputOptimizer.Run(model, image, objective, options))
        {
            Assert.Equal(0.25f, first.Images[0, 0, 0, 0].item<float>(), 6);   // 0.025 x 10
            Assert.Equal(0f, first.Images[0, 0, 5, 5].item<float>());
            Assert.Equal(0.0, first.Objective[0], 6);                        // measured before the step, at the black image
        }
        using var result = InputOptimizer.Run(model, image, objective, options with { Steps = 40 });
        using var expected = zeros(1, 1, 8, 8);
        expected[0, 0, 0..2, 0..2] = full(2, 2, 0.5f);
        Assert.True(result.Images.allclose(expected, atol: 1e-6));
        // At the optimum: 10 x 4 x 0.5 - 10 x 4 x 0.25 = 10.
        Assert.Equal(10.0, result.Objective[^1], 4);
    }

    [Fact]
    public void The_loop_stops_when_the_stop_condition_holds_without_taking_that_step()
    {
        // Plain ascent with rate 0.025 on the corner score adds 0.25 to each corner pixel per step: after k steps the
        // score is 10 x 4 x 0.25 k = 10 k. It reaches 20 after two steps, so the forward pass of step 2 stops the loop.
        using var model = ToyModels.CornerDetector();
        using var image = PixelImage.Constant(1, 1, 8, 8, 0, CPU);
        var seen = new List<(int Step, float Score)>();
        var options = new OptimizationOptions(Steps: 10)
        {
            StepRule = new GradientAscent(0.025),
            Regularizers = [],
            StopWhen = step =>
            {
                seen.Add((step.Step, step.Scores[0, 0].item<float>()));
                return step.Values[0].item<float>() >= 20 - 1e-4;
            },
        };
        var after = new List<int>();
        using var result = InputOptimizer.Run(model, image, Objective.ClassScore(0), options, onStep: step => after.Add(step.Step));
        Assert.Equal([0, 1, 2], seen.Select(s => s.Step));
        Assert.Equal(20f, seen[^1].Score, 4);
        Assert.Equal([0, 1], after);
        Assert.Equal(2, result.Objective.Count);
        Assert.Equal(0.5f, result.Images[0, 0, 0, 0].item<float>(), 6);
    }

    [Fact]
    public void A_notebook_can_write_its_own_objective()
    {
        using var model = ToyModels.CornerDetector();
        // The brightness of the top-right pixel: its gradient is 1 there and 0 everywhere else.
        var topRight = new Objective("top-right pixel", c => c.Image[.., 0, 0, 7]);
        using var pixels = full(2, 1, 8, 8, 0.3f);
        var (values, gradient) = InputOptimizer.ValueAndGradient(model, topRight, pixels);
        using (values)
        using (gradient)
        {
            Assert.True(values.allclose(full(2, 0.3f)));
            using var expected = zeros(2, 1, 8, 8);
            expected[.., 0, 0, 7] = ones(2);
            Assert.True(Identical(gradient, expected));
        }
        // It combines with the built-in ones, and its check and its layers are asked before any work.
        var combined = topRight - 0.5 * Objective.L2();
        Assert.Equal("top-right pixel - 0.5 x L2 of the image", combined.Description);
        var needsClass5 = new Objective("score of class 5", c => c.Scores[.., 5], check: m => m.CheckClass(5));
        Assert.Throws<ArgumentOutOfRangeException>(() => InputOptimizer.Evaluate(model, needsClass5 + topRight, pixels));
        var unknownLayer = new Objective("a layer", c => c.Layer("conv9").flatten(1).sum([1]), ["conv9"]);
        Assert.Contains("Valid names", Assert.Throws<ArgumentException>(() => InputOptimizer.Evaluate(model, unknownLayer, pixels)).Message);
    }

    [Fact]
    public void The_L2_gradient_matches_finite_differences()
    {
        using var model = ToyModels.CornerDetector();
        var objective = -0.3 * Objective.L2(center: 0.5);
        manual_seed(3);
        using var pixels = rand(2, 1, 8, 8);
        var (values, gradient) = InputOptimizer.ValueAndGradient(model, objective, pixels);
        using (values)
        using (gradient)
        {
            using var expectedValues = -0.3 * (pixels - 0.5).square().sum([1, 2, 3]);
            Assert.True(values.allclose(expectedValues, rtol: 1e-5));
            const float eps = 1e-2f;
            foreach (var (n, r, c) in new[] { (0, 0, 0), (0, 3, 5), (1, 7, 7), (1, 2, 1) })
            {
                using var plus = pixels.clone();
                using var minus = pixels.clone();
                plus[n, 0, r, c] += eps;
                minus[n, 0, r, c] -= eps;
                var (up, _) = InputOptimizer.ValueAndGradient(model, objective, plus);
                var (down, _) = InputOptimizer.ValueAndGradient(model, objective, minus);
                double numeric = (up[n].item<float>() - down[n].item<float>()) / (2 * eps);
                Assert.Equal(numeric, gradient[n, 0, r, c].item<float>(), 3);
                Assert.Equal(-0.6 * (pixels[n, 0, r, c].item<float>() - 0.5), gradient[n, 0, r, c].item<float>(), 5);
            }
        }
    }

    [Fact]
    public void Objectives_add_subtract_and_scale_like_numbers()
    {
        using var model = ToyModels.CornerDetector();
        using var pixels = full(1, 1, 8, 8, 0.5f);   // corner score 10 x 4 x 0.5 = 20, L2 = 64 x 0.25 = 16
        var combined = 2 * Objective.ClassScore(0) - Objective.L2() + (-Objective.ClassScore(1)) * 3;
        using var value = InputOptimizer.Evaluate(model, combined, pixels);
        Assert.Equal(2 * 20 - 16 - 0, value[0].item<float>(), 4);
        Assert.Equal("2 x score of class 0 - L2 of the image + 3 x -(score of class 1)", combined.Description);
        using var l2AroundGrey = InputOptimizer.Evaluate(model, Objective.L2(center: 0.5), pixels);
        Assert.Equal(0f, l2AroundGrey[0].item<float>());
    }

    [Fact]
    public void Evaluate_gives_the_values_the_gradient_comes_with()
    {
        using var model = SmallCnn();
        var objective = Objective.ClassScore(1, 3) + Objective.MeanSquare("relu1") - 0.1 * Objective.L2();
        manual_seed(8);
        using var pixels = rand(2, 3, 32, 32);
        using var values = InputOptimizer.Evaluate(model, objective, pixels);
        var (withGradient, gradient) = InputOptimizer.ValueAndGradient(model, objective, pixels);
        Assert.True(values.allclose(withGradient, rtol: 1e-5));
        using var scores = model.Forward(pixels);
        using var l2 = pixels.square().sum([1, 2, 3]);
        Assert.Equal(scores[0, 1].item<float>() - 0.1f * l2[0].item<float>(), values[0].item<float>() - MeanSquareOfRelu1(0), 3);
        withGradient.Dispose();
        gradient.Dispose();

        float MeanSquareOfRelu1(int image)
        {
            var outputs = model.Activations(pixels, "relu1");
            using var relu1 = outputs["relu1"];
            return relu1[image].square().mean().item<float>();
        }
    }

    [Fact]
    public void The_gradient_of_a_network_objective_matches_a_directional_finite_difference()
    {
        using var model = SmallCnn();
        var objective = Objective.ClassScore(2) + 0.5 * Objective.Channel("conv2", 4) - 0.01 * Objective.L2();
        manual_seed(4);
        using var pixels = rand(1, 3, 32, 32);
        using var direction = randn(1, 3, 32, 32);
        var (_, gradient) = InputOptimizer.ValueAndGradient(model, objective, pixels);
        const float eps = 1e-3f;
        using var plus = pixels + eps * direction;
        using var minus = pixels - eps * direction;
        double numeric = (InputOptimizer.ValueAndGradient(model, objective, plus).Values.item<float>()
            - InputOptimizer.ValueAndGradient(model, objective, minus).Values.item<float>()) / (2 * eps);
        double analytic = (gradient * direction).sum().item<float>();
        Assert.Equal(analytic, numeric, Math.Abs(analytic) * 1e-2);
    }

    [Fact]
    public void The_model_is_left_unchanged()
    {
        using var model = SmallCnn();
        var before = model.Module.parameters().Select(p => p.detach().clone()).ToList();
        var options = new MaximizationOptions(Steps: 5, Jitter: 3, BlurEvery: 2);
        using (ActivationMaximization.ClassModels(model, [1, 3], options)) { }
        using (ActivationMaximization.Channels(model, "conv2", [0], options)) { }
        var after = model.Module.parameters().ToList();
        Assert.Equal(before.Count, after.Count);
        for (int i = 0; i < before.Count; i++)
        {
            Assert.True(Identical(before[i], after[i]));
            Assert.Null(after[i].grad);
        }
        Assert.False(model.Module.training);
        before.ForEach(t => t.Dispose());
    }

    [Fact]
    public void Class_models_raise_their_class_score_stay_valid_and_repeat_for_a_seed()
    {
        using var model = SmallCnn();
        // The random network's gradients are tiny, so the steps are normalised.
        var options = new MaximizationOptions(Steps: 30, L2Weight: 0.001, Jitter: 2, Background: 0.5, Seed: 7) { StepRule = new NormalizedGradient(0.02) };
        using var result = ActivationMaximization.ClassModels(model, [0, 4], options);
        Assert.Equal(new long[] { 2, 3, 32, 32 }, result.Images.shape);
        Assert.True(result.Images.min().item<float>() >= 0 && result.Images.max().item<float>() <= 1);
        using var start = full(2, 3, 32, 32, 0.5f);
        using var scoresBefore = model.Forward(start);
        using var scoresAfter = model.Forward(result.Images);
        // Of all five scores, each image's own class rose most.
        using var rise = scoresAfter - scoresBefore;
        Assert.Equal(0, (int)rise[0].argmax().item<long>());
        Assert.Equal(4, (int)rise[1].argmax().item<long>());
        Assert.True(result.Objective.TakeLast(5).Average() > result.Objective.Take(5).Average());

        using var again = ActivationMaximization.ClassModels(model, [0, 4], options);
        Assert.True(Identical(again.Images, result.Images));
        Assert.Equal(result.Objective, again.Objective);
        using var otherSeed = ActivationMaximization.ClassModels(model, [0, 4], options with { Seed = 8 });
        Assert.False(Identical(otherSeed.Images, result.Images));
    }

    [Fact]
    public void A_batch_gives_the_images_of_separate_runs()
    {
        // Every piece works per image and the random draws do not depend on the batch size, so optimising two images
        // together is optimising each alone. (Random starts: a constant image makes max-pooling ties that rounding breaks.)
        using var model = SmallCnn();
        manual_seed(9);
        using var starts = rand(2, 3, 32, 32);
        var options = new OptimizationOptions(Steps: 8, Seed: 2)
        {
            StepRule = new NormalizedGradient(0.01),
            Transforms = [new Jitter(3), new RandomScale(0.9, 1.1), new RandomRotation(10)],
            Regularizers = [new Blur(0.7, 2), new Clamp()],
        };
        var objective = Objective.ClassScore(1, 2) - 0.01 * Objective.L2(0.5);
        using var both = RunFrom(starts, objective);
        using var first = RunFrom(starts[0..1], Objective.ClassScore(1) - 0.01 * Objective.L2(0.5));
        using var second = RunFrom(starts[1..2], Objective.ClassScore(2) - 0.01 * Objective.L2(0.5));
        Assert.True(both.Images[0].allclose(first.Images[0], atol: 1e-5));
        Assert.True(both.Images[1].allclose(second.Images[0], atol: 1e-5));

        SynthesisResult RunFrom(Tensor start, Objective o)
        {
            using var image = new PixelImage(start);
            return InputOptimizer.Run(model, image, o, options);
        }
    }

    [Fact]
    public void The_normalized_step_moves_each_image_by_the_step_size_on_average()
    {
        manual_seed(5);
        using var gradient = randn(3, 2, 4, 4) * tensor(new[] { 1e-4f, 1f, 1e4f }).reshape(3, 1, 1, 1);
        using var update = new NormalizedGradient(0.02).Change(gradient);
        using var meanAbsolute = update.abs().flatten(1).mean([1]);
        Assert.True(meanAbsolute.allclose(full(3, 0.02f), rtol: 1e-4));
        using var zero = new NormalizedGradient(0.02).Change(zeros(1, 1, 2, 2));
        Assert.Equal(0f, zero.abs().max().item<float>());
    }

    [Fact]
    public void The_cosine_decay_scales_each_step_by_half_a_cosine_and_starts_again_for_every_run()
    {
        var schedule = new CosineDecay(new GradientAscent(2), Steps: 4);
        using var gradient = ones(1, 1, 2, 2);
        // (1 + cos(π t / 4)) / 2 for t = 0..3: 1, 0.8536, 0.5, 0.1464; the rule's change is 2 x the gradient,
        // so the parameters, starting at 0, pass through 2, 3.707107, 4.707107, 5.
        double[] expected = [2, 3.707107, 4.707107, 5];
        for (int run = 0; run < 2; run++)
        {
            using var parameters = zeros(1, 1, 2, 2);
            using var steps = schedule.Begin(parameters);
            foreach (double e in expected)
            {
                steps.Step(gradient);
                Assert.True(parameters.allclose(full(1, 1, 2, 2, e), atol: 1e-5), $"expected {e}, got {parameters[0, 0, 0, 0].item<float>()}");
            }
        }
        using var some = zeros(1);
        Assert.Throws<ArgumentOutOfRangeException>(() => new CosineDecay(new GradientAscent(1), 0).Begin(some));
    }

    [Fact]
    public void Transforms_and_regularizers_do_what_they_say()
    {
        manual_seed(6);
        using var images = rand(2, 3, 10, 12);
        using var random = new Generator(1);
        using (var turned = new RandomRotation(0).Apply(images, random))
            Assert.True(turned.allclose(images, atol: 1e-5));
        using (var zoomed = new RandomScale(1, 1).Apply(images, random))
            Assert.True(zoomed.allclose(images, atol: 1e-5));
        using (var shifted = new Jitter(3).Apply(images, random))
        {
            // A roll only moves pixels: the same values, each image's sum unchanged.
            Assert.True(shifted.sum([1, 2, 3]).allclose(images.sum([1, 2, 3]), rtol: 1e-5));
        }
        using (var mirrored = new ReflectToSize(40, 41).Apply(images))
        {
            Assert.Equal(new long[] { 2, 3, 40, 41 }, mirrored.shape);
            int top = (40 - 10 + 1) / 2, left = (41 - 12 + 1) / 2;
            Assert.True(Identical(mirrored[.., .., top..(top + 10), left..(left + 12)], images));
        }
        Assert.Throws<ArgumentException>(() => new ReflectToSize(8, 8).Apply(images));

        using var constant = full(1, 3, 9, 9, 0.3f);
        new Blur(Sigma: 1, Every: 1).Apply(constant, 0);
        Assert.True(constant.allclose(full(1, 3, 9, 9, 0.3f), atol: 1e-6));
        using var dot = zeros(1, 1, 9, 9);
        dot[0, 0, 4, 4] = tensor(1f);
        new Blur(Sigma: 1, Every: 2).Apply(dot, 0);   // step 0 of "every 2": not yet
        Assert.Equal(1f, dot[0, 0, 4, 4].item<float>());
        new Blur(Sigma: 1, Every: 2).Apply(dot, 1);
        Assert.Equal(1f, dot.sum().item<float>(), 5);   // blurring keeps the total
        Assert.True(dot[0, 0, 4, 4].item<float>() < 0.3f && dot[0, 0, 4, 5].item<float>() > 0.05f);
    }

    [Fact]
    public void Bad_requests_are_refused_with_reasons()
    {
        using var model = SmallCnn();
        Assert.Contains("0 or more", Assert.Throws<ArgumentOutOfRangeException>(() => ActivationMaximization.ClassModels(model, [0], new MaximizationOptions(Steps: -1))).Message);
        Assert.Contains("out of range", Assert.Throws<ArgumentOutOfRangeException>(() => ActivationMaximization.ClassModels(model, [5])).Message);
        Assert.Contains("Valid names", Assert.Throws<ArgumentException>(() => ActivationMaximization.Channels(model, "layer9", [0])).Message);
        Assert.Contains("no channel 32", Assert.Throws<ArgumentOutOfRangeException>(() => ActivationMaximization.Channels(model, "conv2", [32], new MaximizationOptions(Steps: 1))).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => ActivationMaximization.ClassModels(model, [0], new MaximizationOptions(LearningRate: 0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => ActivationMaximization.ClassModels(model, [0], new MaximizationOptions(Background: 2)));
        Assert.Contains("per image", Assert.Throws<ArgumentException>(() =>
            ActivationMaximization.Run(model, Objective.ClassScore(0, 1), 3, new MaximizationOptions(Steps: 1))).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => ActivationMaximization.Run(model, Objective.ClassScore(0), 0, new MaximizationOptions()));
        using var trunkLike = new VisionModel("no-classes", "features only", nn.Sequential(("flatten", nn.Flatten())), new InputSpec(1, 4, 4, [0f], [1f]), [], null, CPU);
        Assert.Contains("without classes", Assert.Throws<InvalidOperationException>(() => ActivationMaximization.ClassModels(trunkLike, [0])).Message);
    }

    [Fact]
    public void Class_models_run_on_an_ImageNet_classifier()
    {
        manual_seed(1);
        using var model = TorchVisionModels.CreateUntrained("resnet18", CPU);
        var options = new MaximizationOptions(Steps: 2, L2Weight: 1e-4, Jitter: 12, BlurSigma: 1, Background: 0.5) { StepRule = new NormalizedGradient(0.02) };
        using var result = ActivationMaximization.ClassModels(model, [ImageNetClasses.Ostrich, ImageNetClasses.Toaster], options);
        Assert.Equal(new long[] { 2, 3, 224, 224 }, result.Images.shape);
        Assert.Equal(2, result.Objective.Count);
        Assert.True(result.Images.min().item<float>() >= 0 && result.Images.max().item<float>() <= 1);
    }

    [Fact]
    public void Fashion_class_models_are_classified_as_their_class()
    {
        using var model = FashionCnn.Load(CPU);
        var classes = Enumerable.Range(0, 10).ToList();
        using var result = ActivationMaximization.ClassModels(model, classes);   // the defaults, which notebook 09 uses
        using var start = zeros(10, 1, 28, 28);
        using var before = model.Forward(start);
        using var after = model.Forward(result.Images);
        using var probabilities = model.Probabilities(result.Images);
        foreach (var c in classes)
        {
            Assert.True(after[c, c].item<float>() > before[c, c].item<float>(), $"class {c}: the score did not rise");
            Assert.Equal(c, (int)probabilities[c].argmax().item<long>());
            Assert.True(probabilities[c, c].item<float>() > 0.9f, $"class {c}: P = {probabilities[c, c].item<float>()}");
        }
        Assert.True(result.Objective.TakeLast(10).Average() > result.Objective.Take(10).Average());
        Assert.True(result.Images.min().item<float>() >= 0 && result.Images.max().item<float>() <= 1);
    }
}
