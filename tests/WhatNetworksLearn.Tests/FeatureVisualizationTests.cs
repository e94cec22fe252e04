using WhatNetworksLearn.Data;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Synthesis;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

/// <summary>The Fourier parameterisation, the colour matrix, Adam, the robustness transforms and feature visualisation.</summary>
public class FeatureVisualizationTests(ITestOutputHelper output)
{
    static double[,] Multiply(double[,] a, double[,] b, bool transposeB = false)
    {
        var product = new double[3, 3];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                for (int k = 0; k < 3; k++)
                    product[i, j] += a[i, k] * (transposeB ? b[j, k] : b[k, j]);
        return product;
    }

    static double[] Column(double[,] m, int column) => [m[0, column], m[1, column], m[2, column]];

    static double Norm(double[] v) => Math.Sqrt(v.Sum(x => x * x));

    static double DegreesBetween(double[] a, double[] b) =>
        Math.Acos(Math.Clamp(a.Zip(b, (x, y) => x * y).Sum() / (Norm(a) * Norm(b)), -1, 1)) * 180 / Math.PI;

    static Tensor Photo(string name) => ImageFiles.Load(Kit.DataPath("images", name));

    [Fact]
    public void The_colour_matrix_is_what_the_kits_photos_give()
    {
        var photos = ColorDecorrelation.Photos.Select(Photo).ToList();
        var computed = ColorDecorrelation.FromPhotos(photos);
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                Assert.Equal(ColorDecorrelation.Matrix[i, j], computed[i, j], 1e-6);
        photos.ForEach(p => p.Dispose());
    }

    [Fact]
    public void The_colour_matrix_is_a_square_root_of_the_colour_covariance()
    {
        // One photo, so that its covariance can be computed another way (torch.cov over all its pixels).
        using var photo = Photo("chelsea.png");
        var root = ColorDecorrelation.FromPhotos([photo]);
        using var pixels = photo.to_type(ScalarType.Float64).reshape(3, -1);
        using var covariance = cov(pixels, correction: 0);
        var rootSquared = Multiply(root, root, transposeB: true);   // M Mᵀ
        // M Mᵀ is the covariance divided by the squared length of M's longest column (its first), now 1.
        Assert.Equal(1, Norm(Column(root, 0)), 9);
        double scale = rootSquared[0, 0] / covariance[0, 0].item<double>();
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                Assert.Equal(covariance[i, j].item<double>() * scale, rootSquared[i, j], 9);
    }

    [Fact]
    public void The_colour_matrix_has_orthogonal_columns_brightness_first_and_resembles_Lucids()
    {
        var m = ColorDecorrelation.Matrix;
        var gram = Multiply(Transpose(m), m);   // Mᵀ M: the squared column lengths on the diagonal, 0 elsewhere
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                if (i != j)
                    Assert.Equal(0, gram[i, j], 5);
        Assert.Equal(1, gram[0, 0], 5);                     // the longest column has length 1
        Assert.True(gram[0, 0] > gram[1, 1] && gram[1, 1] > gram[2, 2]);
        Assert.True(Column(m, 0).All(v => v > 0));            // brightness: all three colours together
        Assert.InRange(DegreesBetween(Column(m, 0), [1, 1, 1]), 0, 15);

        // Lucid's published matrix (Olah et al., 2017, from ImageNet's colours), before its own normalisation.
        double[,] lucid = { { 0.26, 0.09, 0.02 }, { 0.27, 0.00, -0.05 }, { 0.27, -0.09, 0.03 } };
        for (int column = 0; column < 3; column++)
        {
            double angle = DegreesBetween(Column(m, column), Column(lucid, column));
            output.WriteLine($"column {column}: {angle:F1} degrees from Lucid's");
            Assert.InRange(angle, 0, 15);
        }
        Assert.NotEqual(0, Determinant(m), 3);
    }

    static double[,] Transpose(double[,] m)
    {
        var t = new double[3, 3];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                t[i, j] = m[j, i];
        return t;
    }

    static double Determinant(double[,] m) =>
        m[0, 0] * (m[1, 1] * m[2, 2] - m[1, 2] * m[2, 1]) - m[0, 1] * (m[1, 0] * m[2, 2] - m[1, 2] * m[2, 0]) + m[0, 2] * (m[1, 0] * m[2, 1] - m[1, 1] * m[2, 0]);

    [Fact]
    public void Decorrelating_and_recorrelating_colours_are_inverse()
    {
        manual_seed(2);
        using var images = randn(2, 3, 5, 7);
        using var rgb = ColorDecorrelation.ToRgb(images);
        using var back = ColorDecorrelation.FromRgb(rgb);
        Assert.True(back.allclose(images, atol: 1e-5));
        // Pixel by pixel it is the matrix product.
        var m = ColorDecorrelation.Matrix;
        for (int channel = 0; channel < 3; channel++)
        {
            double expected = Enumerable.Range(0, 3).Sum(k => m[channel, k] * images[1, k, 3, 4].item<float>());
            Assert.Equal(expected, rgb[1, channel, 3, 4].item<float>(), 5);
        }
        Assert.Contains("N x 3 x H x W", Assert.Throws<ArgumentException>(() => ColorDecorrelation.ToRgb(zeros(1, 1, 4, 4))).Message);
    }

    [Theory]
    [InlineData(1, true, 0.0)]
    [InlineData(1, false, 1.0)]
    [InlineData(3, true, 1.0)]
    [InlineData(3, false, 2.0)]
    [InlineData(3, true, 1.0, 9)]   // odd width: the real FFT's layout differs
    public void A_Fourier_image_made_from_pixels_renders_those_pixels(int channels, bool decorrelate, double decay, int width = 12)
    {
        manual_seed(3);
        using var pixels = rand(2, channels, 10, width);
        pixels[0, 0, 0, 0] = tensor(0f);   // the ends of the range are kept just inside it
        pixels[1, 0, 2, 3] = tensor(1f);
        using var image = FourierImage.FromPixels(pixels, decay, decorrelate);
        Assert.Equal(new long[] { 2, channels, 10, width / 2 + 1, 2 }, image.Parameters.shape);
        Assert.Equal(decorrelate && channels == 3, image.Decorrelated);
        using var rendered = image.Render(image.Parameters);
        using var expected = pixels.clamp(FourierImage.Margin, 1 - FourierImage.Margin);
        Assert.True(rendered.allclose(expected, atol: 1e-5), $"largest difference {(rendered - expected).abs().max().item<float>()}");
    }

    [Fact]
    public void Each_frequency_is_scaled_by_one_over_frequency_to_the_decay()
    {
        // A grey 16 x 16 image with one real coefficient a at horizontal frequency k/16 (cycles per pixel): the orthonormal
        // inverse transform gives 2 a s(k) cos(2 pi k x / 16) / 16, with s(k) = (16 / k)^decay, before the sigmoid.
        const int side = 16;
        foreach (var decay in new[] { 0.0, 1.0, 1.5 })
        {
            var scale = FourierImage.FrequencyScale(side, side, decay);
            Assert.Equal(Math.Pow(side, decay), scale[0, 0].item<float>(), 3);   // the mean: floored at the slowest wave
            Assert.Equal(Math.Pow(side, decay), scale[0, 1].item<float>(), 3);
            Assert.Equal(Math.Pow(side / 3.0, decay), scale[0, 3].item<float>(), 3);
            Assert.Equal(Math.Pow(side / 5.0, decay), scale[3, 4].item<float>(), 3);   // f = sqrt(3² + 4²) / 16

            foreach (var k in new[] { 1, 3 })
            {
                using var image = FourierImage.Random(1, 1, side, side, decay: decay, noise: 0);
                const double a = 0.7;
                using (no_grad())
                    image.Parameters[0, 0, 0, k, 0] = tensor((float)a);
                using var logits = image.Render(image.Parameters).logit();
                double amplitude = 2 * a * Math.Pow(side / (double)k, decay) / side;
                for (int x = 0; x < side; x++)
                    Assert.Equal(amplitude * Math.Cos(2 * Math.PI * k * x / side), logits[0, 0, 5, x].item<float>(), 4);
            }
        }
    }

    [Fact]
    public void A_constant_spectrum_renders_a_uniform_colour_through_the_colour_matrix()
    {
        // Only the mean of each decorrelated channel is set: every pixel is sigmoid(M v s(0) / sqrt(H W)).
        using var image = FourierImage.Random(1, 3, 8, 8, noise: 0);
        double[] v = [0.9, -0.4, 0.2];
        using (no_grad())
            for (int c = 0; c < 3; c++)
                image.Parameters[0, c, 0, 0, 0] = tensor((float)v[c]);
        using var rendered = image.Render(image.Parameters);
        for (int c = 0; c < 3; c++)
        {
            double logit = Enumerable.Range(0, 3).Sum(k => ColorDecorrelation.Matrix[c, k] * v[k]) * 8 / 8.0;   // s(0) = 8, sqrt(64) = 8
            double expected = 1 / (1 + Math.Exp(-logit));
            Assert.True(rendered[0, c].allclose(full(8, 8, (float)expected), atol: 1e-6));
        }
    }

    [Fact]
    public void The_gradient_through_the_Fourier_image_matches_finite_differences()
    {
        using var image = FourierImage.Random(1, 3, 8, 10, seed: 4, noise: 0.05);
        manual_seed(5);
        using var weights = randn(1, 3, 8, 10);
        double Loss() { using var noGrad = no_grad(); using var r = image.Render(image.Parameters); return (r * weights).sum().item<float>(); }
        using var watched = image.Parameters.detach().requires_grad_(true);
        using var loss = (image.Render(watched) * weights).sum();
        using var gradient = autograd.grad([loss], [watched])[0];
        const float eps = 1e-2f;
        foreach (var (c, y, x, part) in new[] { (0, 0, 0, 0), (1, 3, 2, 1), (2, 7, 5, 0), (0, 5, 1, 1) })
        {
            using (no_grad()) image.Parameters[0, c, y, x, part] += eps;
            double up = Loss();
            using (no_grad()) image.Parameters[0, c, y, x, part] -= 2 * eps;
            double down = Loss();
            using (no_grad()) image.Parameters[0, c, y, x, part] += eps;
            Assert.Equal((up - down) / (2 * eps), gradient[0, c, y, x, part].item<float>(), 2);
        }
    }

    [Fact]
    public void Adam_takes_steps_by_its_formula_and_starts_afresh_for_every_run()
    {
        var adam = new Adam(0.1);
        using var g1 = tensor(new[] { 2f, -0.001f, 0f });
        using var g2 = tensor(new[] { -1f, 0.003f, 0f });
        using var parameters = zeros(3);
        using (var run = adam.Begin(parameters))
        {
            run.Step(g1);   // bias-corrected: lr g / |g| on the first step, upwards
            Assert.True(parameters.allclose(tensor(new[] { 0.1f, -0.1f, 0f }), atol: 1e-6));
            using var before = parameters.clone();
            run.Step(g2);
            for (int i = 0; i < 2; i++)
            {
                double a = g1[i].item<float>(), b = g2[i].item<float>();
                double m = (0.9 * 0.1 * a + 0.1 * b) / (1 - 0.81), v = (0.999 * 0.001 * a * a + 0.001 * b * b) / (1 - 0.999 * 0.999);
                Assert.Equal(0.1 * m / (Math.Sqrt(v) + 1e-8), (parameters[i] - before[i]).item<float>(), 5);
            }
            Assert.Equal(0f, parameters[2].item<float>());
        }
        using var other = zeros(3);
        using (var fresh = adam.Begin(other))
            fresh.Step(g2);
        Assert.True(other.allclose(tensor(new[] { -0.1f, 0.1f, 0f }), atol: 1e-6));

        // Through the loop: the same options twice give the same images (no memory carried from the first run).
        using var model = ToyModels.CornerDetector();
        var options = new OptimizationOptions(Steps: 5) { StepRule = adam };
        using var image1 = PixelImage.Constant(1, 1, 8, 8, 0.2);
        using var image2 = PixelImage.Constant(1, 1, 8, 8, 0.2);
        using var a1 = InputOptimizer.Run(model, image1, Objective.ClassScore(0), options);
        using var a2 = InputOptimizer.Run(model, image2, Objective.ClassScore(0), options);
        Assert.True(SynthesisTests.Identical(a1.Images, a2.Images));
        // A constant gradient: Adam moves the corner pixels by the learning rate each step, 0.2 + 5 x 0.1, and nothing else.
        Assert.Equal(0.7f, a1.Images[0, 0, 1, 1].item<float>(), 5);
        Assert.Equal(0.2f, a1.Images[0, 0, 4, 4].item<float>(), 6);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(0).Begin(other));
    }

    [Theory]
    [InlineData(ImageBasis.Fourier)]
    [InlineData(ImageBasis.Pixels)]
    public void TorchSharps_Adam_makes_the_images_the_kits_own_Adam_made(ImageBasis basis)
    {
        // The kit had its own Adam until TorchSharp's optimiser replaced it; written out here, step by step, it must give
        // the same feature visualisations (up to the order of floating-point operations) through the loop, transforms included.
        using var model = SynthesisTests.SmallCnn();
        var (options, objective) = SmallCase(basis);
        using var torchSharp = FeatureVisualization.Run(model, objective, 2, options);
        using var image = FeatureVisualization.Start(model, 2, options);
        using var written = InputOptimizer.Run(model, image, objective, options.ForLoop(model.Input, "written-out Adam") with { StepRule = new WrittenOutAdam(0.05) });
        float largest = (torchSharp.Images - written.Images).abs().max().item<float>();
        output.WriteLine($"{basis}: largest difference {largest:G3}");
        Assert.True(largest < 1e-5f, $"{basis}: the images differ by up to {largest}");
        Assert.True(written.Objective[^1] > written.Objective[0] + 0.1, "the images must have moved for the comparison to mean anything");
    }

    /// <summary>Two channels of the small network, 40 steps of 0.05 with a 4-pixel border, seed 3.</summary>
    static (FeatureVisualizationOptions Options, Objective Objective) SmallCase(ImageBasis basis) =>
        (new FeatureVisualizationOptions(Steps: 40, StepSize: 0.05, Basis: basis, Pad: 4, Seed: 3), Objective.Channel("conv2", 5, 17));

    /// <summary>Adam by its formula, with its running means on the side: m / (1 − β1^t) / (√(v / (1 − β2^t)) + ε) × rate.</summary>
    sealed record WrittenOutAdam(double LearningRate, double Beta1 = 0.9, double Beta2 = 0.999, double Epsilon = 1e-8) : IStepRule
    {
        public IStepRun Begin(Tensor parameters) => new Run(this, parameters);

        sealed class Run(WrittenOutAdam settings, Tensor parameters) : IStepRun
        {
            readonly Tensor mean = zeros_like(parameters).DetachFromDisposeScope(), meanSquare = zeros_like(parameters).DetachFromDisposeScope();
            int steps;

            public void Step(Tensor gradient)
            {
                using var scope = NewDisposeScope();
                using var noGrad = no_grad();
                steps++;
                mean.mul_(settings.Beta1).add_(gradient, alpha: 1 - settings.Beta1);
                meanSquare.mul_(settings.Beta2).addcmul_(gradient, gradient, value: 1 - settings.Beta2);
                double meanCorrection = 1 - Math.Pow(settings.Beta1, steps), squareCorrection = 1 - Math.Pow(settings.Beta2, steps);
                parameters.add_(mean / meanCorrection / ((meanSquare / squareCorrection).sqrt() + settings.Epsilon) * settings.LearningRate);
            }

            public void Dispose()
            {
                mean.Dispose();
                meanSquare.Dispose();
            }
        }
    }

    [Fact]
    public void Pad_and_random_crop_do_what_they_say()
    {
        manual_seed(7);
        using var images = rand(2, 3, 6, 8);
        using var random = new Generator(3);
        using var padded = new Pad(2, 0.25).Apply(images, random);
        Assert.Equal(new long[] { 2, 3, 10, 12 }, padded.shape);
        Assert.True(SynthesisTests.Identical(padded[.., .., 2..8, 2..10], images));
        Assert.Equal(0.25f, padded[1, 2, 0, 5].item<float>());
        Assert.Equal(0.25f, padded[0, 0, 9, 11].item<float>());

        var offsets = new HashSet<(int, int)>();
        for (int draw = 0; draw < 40; draw++)
        {
            using var crop = new RandomCrop(6, 8).Apply(padded, random);
            Assert.Equal(new long[] { 2, 3, 6, 8 }, crop.shape);
            // The crop is a window of the padded images: find where.
            var found = Enumerable.Range(0, 5).SelectMany(top => Enumerable.Range(0, 5).Select(left => (top, left)))
                .Where(o => SynthesisTests.Identical(padded[.., .., o.top..(o.top + 6), o.left..(o.left + 8)], crop)).ToList();
            Assert.Single(found);
            offsets.Add(found[0]);
        }
        Assert.True(offsets.Count > 10, $"only {offsets.Count} of the 25 offsets drawn in 40 crops");
        Assert.Contains("must fit", Assert.Throws<ArgumentException>(() => new RandomCrop(11, 8).Apply(padded, random)).Message);
    }

    [Theory]
    [InlineData(ImageBasis.Fourier)]
    [InlineData(ImageBasis.Pixels)]
    public void Feature_visualisation_raises_the_objective_and_repeats_for_a_seed(ImageBasis basis)
    {
        using var model = SynthesisTests.SmallCnn();
        var (options, objective) = SmallCase(basis);
        using var result = FeatureVisualization.Run(model, objective, 2, options);
        Assert.Equal(new long[] { 2, 3, 32, 32 }, result.Images.shape);
        Assert.True(result.Images.min().item<float>() >= 0 && result.Images.max().item<float>() <= 1);
        using (var start = FeatureVisualization.Start(model, 2, options))
        using (var startImages = start.Render(start.Parameters))
        using (var before = InputOptimizer.Evaluate(model, objective, startImages.detach()))
        using (var after = InputOptimizer.Evaluate(model, objective, result.Images))
        {
            output.WriteLine($"{basis}: {before[0].item<float>():F3} -> {after[0].item<float>():F3}, {before[1].item<float>():F3} -> {after[1].item<float>():F3}");
            Assert.True(after.gt(before).all().item<bool>(), "both channels should rise above their start");
            Assert.True((after - before).mean().item<float>() > 0.2f, "the channels should rise clearly on average");
        }
        Assert.True(result.Objective.TakeLast(5).Average() > result.Objective.Take(5).Average());

        using var again = FeatureVisualization.Run(model, objective, 2, options);
        Assert.True(SynthesisTests.Identical(again.Images, result.Images));
        using var otherSeed = FeatureVisualization.Run(model, objective, 2, options with { Seed = 4 });
        Assert.False(SynthesisTests.Identical(otherSeed.Images, result.Images));
    }

    [Fact]
    public void Both_bases_start_from_the_same_picture_and_a_photo_start_is_kept_at_zero_steps()
    {
        using var model = SynthesisTests.SmallCnn();
        var options = new FeatureVisualizationOptions(Steps: 0, Seed: 5);
        using var fourier = FeatureVisualization.Start(model, 2, options);
        using var pixels = FeatureVisualization.Start(model, 2, options with { Basis = ImageBasis.Pixels });
        Assert.IsType<FourierImage>(fourier);
        Assert.IsType<PixelImage>(pixels);
        using var fourierStart = fourier.Render(fourier.Parameters);
        Assert.True(fourierStart.allclose(pixels.Render(pixels.Parameters), atol: 1e-6));
        float spread = fourierStart.std().item<float>(), largest = (fourierStart - 0.5).abs().max().item<float>();
        Assert.True(spread < 0.02f && largest < 0.1f, $"the start should be a faint noise around grey; standard deviation {spread}, largest distance {largest}");

        manual_seed(8);
        using var photo = rand(1, 3, 32, 32) * 0.9 + 0.05;
        using var kept = FeatureVisualization.Run(model, Objective.ClassScore(1), 1, options, start: photo);
        Assert.True(kept.Images.allclose(photo, atol: 1e-5));
        Assert.Contains("Images.Prepare", Assert.Throws<ArgumentException>(() =>
            FeatureVisualization.Run(model, Objective.ClassScore(1), 1, options, start: rand(1, 3, 16, 16))).Message);
    }

    [Fact]
    public void An_objective_rose_only_when_its_last_steps_are_clearly_above_its_first()
    {
        Assert.True(ObjectiveRise.Of([0, 1, 2, 3, 4, 5, 6, 7]).Rose);
        var flat = ObjectiveRise.Of([0, 0, 0, 0, 0, 0, 0, 0]);
        Assert.Equal((0.0, 0.0, false), (flat.Start, flat.End, flat.Rose));
        Assert.False(ObjectiveRise.Of([10, 9, 11, 10, 9.5, 10.5, 10, 10.2]).Rose);   // wobbles about its start
        Assert.False(ObjectiveRise.Of([5, 4, 3, 2]).Rose);
        Assert.Equal(6.5, ObjectiveRise.Of([0, 1, 2, 3, 4, 5, 6, 7]).End);   // the mean of the last quarter
        Assert.Throws<ArgumentException>(() => ObjectiveRise.Of([]));
    }

    /// <summary>
    /// A channel behind a ReLU that is silent on the start everywhere has no gradient (issue 19): its image stays the
    /// start and the per-image history says that its objective did not rise, while a live channel's did.
    /// </summary>
    [Fact]
    public void A_channel_silent_on_the_start_does_not_rise_and_the_history_says_so()
    {
        var conv = nn.Conv2d(1, 2, 1);
        using (no_grad())
        {
            conv.weight!.copy_(tensor(new[] { 1f, 1f }).reshape(2, 1, 1, 1));
            conv.bias!.copy_(tensor(new[] { -2f, 0f }));   // channel 0 needs pixels above 2: it never fires on [0,1]
        }
        using var model = new VisionModel("toy", "toy", nn.Sequential(("conv", conv), ("relu", nn.ReLU())), new InputSpec(1, 16, 16, [0f], [1f]), [], null, CPU);
        using var result = FeatureVisualization.Channels(model, "relu", [0, 1], new FeatureVisualizationOptions(Steps: 8, Pad: 2) { StartNoise = 0.1 });
        Assert.Equal(8, result.ObjectivePerImage.Count);
        Assert.All(result.ObjectivePerImage, step => Assert.Equal(2, step.Length));
        var rises = ObjectiveRise.PerImage(result);
        Assert.False(rises[0].Rose);
        Assert.True(rises[1].Rose, $"channel 1 went from {rises[1].Start} to {rises[1].End}");
        Assert.Equal(result.Objective[3], result.ObjectivePerImage[3].Average(), 6);
    }

    [Fact]
    public void Bad_settings_are_refused_with_reasons()
    {
        using var model = SynthesisTests.SmallCnn();
        Assert.Contains("0 or more", Assert.Throws<ArgumentOutOfRangeException>(() => FeatureVisualization.Channels(model, "conv2", [0], new FeatureVisualizationOptions(Steps: -1))).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => FeatureVisualization.Channels(model, "conv2", [0], new FeatureVisualizationOptions(StepSize: 0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => FeatureVisualization.Channels(model, "conv2", [0], new FeatureVisualizationOptions(Decay: -1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => FeatureVisualization.Channels(model, "conv2", [0], new FeatureVisualizationOptions(Zoom: 1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => FeatureVisualization.Channels(model, "conv2", [0], new FeatureVisualizationOptions(Degrees: 400)));
        Assert.Throws<ArgumentOutOfRangeException>(() => FeatureVisualization.Channels(model, "conv2", [0], new FeatureVisualizationOptions { StartNoise = -0.1 }));
        Assert.Contains("Valid names", Assert.Throws<ArgumentException>(() => FeatureVisualization.Channels(model, "layer9", [0])).Message);
        Assert.Contains("no channel 32", Assert.Throws<ArgumentOutOfRangeException>(() => FeatureVisualization.Channels(model, "conv2", [32], new FeatureVisualizationOptions(Steps: 1))).Message);
        Assert.Contains("[0,1]", Assert.Throws<ArgumentException>(() => FourierImage.FromPixels(full(1, 3, 4, 4, 2f))).Message);
        using var bright = full(1, 3, 32, 32, 255f);
        Assert.Contains("divide 0..255", Assert.Throws<ArgumentException>(() =>
            FeatureVisualization.Run(model, Objective.ClassScore(0), 1, new FeatureVisualizationOptions(Basis: ImageBasis.Pixels), start: bright)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => FourierImage.Random(1, 3, 1, 4));
    }

    [Fact]
    public void Visualises_classes_of_an_ImageNet_classifier()
    {
        using var model = TorchVisionModels.CreateUntrained("resnet18", CPU);
        using var result = FeatureVisualization.Classes(model, [ImageNetClasses.Ostrich, ImageNetClasses.Toaster], new FeatureVisualizationOptions(Steps: 2));
        Assert.Equal(new long[] { 2, 3, 224, 224 }, result.Images.shape);
        Assert.Equal(2, result.Objective.Count);
        Assert.True(result.Images.min().item<float>() > 0 && result.Images.max().item<float>() < 1);
    }
}
