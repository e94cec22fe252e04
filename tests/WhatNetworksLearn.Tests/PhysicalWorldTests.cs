using WhatNetworksLearn.Adversarial;
using WhatNetworksLearn.Data;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Synthesis;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

public class PhysicalWorldTests
{
    [Fact]
    public void Blurring_a_single_bright_pixel_gives_the_normalised_gaussian_kernel()
    {
        using var image = zeros(1, 1, 15, 15);
        image[0, 0, 7, 7] = tensor(1f);
        using var blurred = new GaussianBlur(1).Apply(image, zeros(1, 0));
        // σ = 1: radius 3, weights e^(−i²/2) for i = −3..3, divided by their sum; the 2-D kernel is their outer product.
        var weights = Enumerable.Range(-3, 7).Select(i => Math.Exp(-i * i / 2.0)).ToArray();
        double total = weights.Sum();
        using var kernel = tensor(weights.Select(w => (float)(w / total)).ToArray());
        using var expected = zeros(1, 1, 15, 15);
        expected[0, 0, 4..11, 4..11] = outer(kernel, kernel);
        Assert.True(blurred.allclose(expected, atol: 1e-6));
        Assert.True(ImageFilters.GaussianKernel(1).allclose(kernel, atol: 1e-7));
        Assert.Equal(1, blurred.sum().item<float>(), 5);
    }

    [Fact]
    public void Lighting_follows_its_formula_and_clamps_to_the_pixel_range()
    {
        using var image = tensor(new[] { 0f, 0.25f, 0.5f, 1f, 0.5f, 0.2f, 0.9f, 0.7f }).reshape(2, 1, 2, 2);
        // Image 0: brightness +0.1, contrast ×2 → 2 (x − ½) + ½ + 0.1; image 1: brightness −0.2, contrast ×0.5.
        using var conditions = tensor(new[] { 0.1f, 2f, -0.2f, 0.5f }).reshape(2, 2);
        using var lit = new Lighting(0.2, 1).Apply(image, conditions);
        using var expected = tensor(new[] { 0f, 0.1f, 0.6f, 1f, 0.3f, 0.15f, 0.5f, 0.4f }).reshape(2, 1, 2, 2);
        Assert.True(lit.allclose(expected, atol: 1e-6));
    }

    [Fact]
    public void Rotation_by_zero_at_scale_one_is_the_identity_and_a_quarter_turn_is_rot90()
    {
        using var images = rand(3, 3, 6, 6, generator: new Generator(1));
        using var none = tensor(new[] { 0f, 1f, 0f, 1f, 0f, 1f }).reshape(3, 2);
        using var same = new RotateAndScale(10, 0.1).Apply(images, none);
        Assert.True(same.allclose(images, atol: 1e-5));
        // 90° maps pixel centres onto pixel centres: anticlockwise on screen, as torch's rot90 from rows towards columns.
        using var quarter = tensor(new[] { 90f, 1f, 90f, 1f, 90f, 1f }).reshape(3, 2);
        using var turned = new RotateAndScale(90, 0).Apply(images, quarter);
        Assert.True(turned.allclose(images.rot90(1, (2, 3)), atol: 1e-5));
    }

    [Fact]
    public void Noise_of_sigma_zero_is_the_identity_and_otherwise_has_that_spread()
    {
        using var images = rand(2, 1, 8, 8, generator: new Generator(2));
        using var none = new SensorNoise(0).Apply(images, new Generator(3));
        Assert.True(Same(none, images));
        using var grey = full(4, 1, 32, 32, 0.5f);
        using var noisy = new SensorNoise(0.05).Apply(grey, new Generator(3));
        Assert.Equal(0.05, (noisy - grey).std().item<float>(), 2);
    }

    [Fact]
    public void Jpeg_at_quality_100_is_nearly_the_identity_and_at_low_quality_differs_deterministically()
    {
        using var sample = FashionMnist.LoadSample(limit: 4);
        using var best = new JpegCompression(100).Apply(sample.Images, zeros(4, 0));
        Assert.True((best - sample.Images).abs().max().item<float>() < 0.03);
        Assert.True((best - sample.Images).abs().mean().item<float>() < 0.003);
        using var poor = new JpegCompression(10).Apply(sample.Images, zeros(4, 0));
        using var again = new JpegCompression(10).Apply(sample.Images, zeros(4, 0));
        Assert.True((poor - sample.Images).abs().mean().item<float>() > 0.01);
        Assert.True(Same(poor, again));
        using var colour = rand(2, 3, 16, 16, generator: new Generator(4));
        using var colourJpeg = new JpegCompression(50).Apply(colour, zeros(2, 0));
        Assert.Equal(colour.shape, colourJpeg.shape);
    }

    [Fact]
    public void Straight_through_jpeg_passes_the_gradient_unchanged()
    {
        using var sample = FashionMnist.LoadSample(limit: 2);
        using var input = sample.Images.clone().requires_grad_(true);
        using var weights = randn(input.shape, generator: new Generator(5));
        using var output = new JpegCompression(20).Apply(input, zeros(2, 0));
        using var loss = (output * weights).sum();
        var gradient = autograd.grad([loss], [input])[0];
        Assert.True(Same(gradient, weights));
        Assert.False(Same(output.detach(), sample.Images));
    }

    public static TheoryData<int> StepIndices => [0, 1, 2, 3, 4];

    [Theory]
    [MemberData(nameof(StepIndices))]
    public void Every_step_gives_a_batch_what_it_gives_each_image_alone_and_stays_in_range(int index)
    {
        var step = new PrintAndPhoto(new PrintAndPhotoOptions(Brightness: 0.5, Contrast: 0.8, Degrees: 30, ScaleChange: 0.3,
            BlurSigma: 1, NoiseSigma: 0.3, JpegQuality: 10)).Steps[index];
        using var images = rand(5, 3, 12, 12, generator: new Generator(6));
        using var conditions = step.Draw(images.shape, new Generator(7));
        using var again = step.Draw(images.shape, new Generator(7));
        Assert.True(Same(conditions, again));
        using var batched = step.Apply(images, conditions);
        for (int i = 0; i < 5; i++)
        {
            using var alone = step.Apply(images[i..(i + 1)], conditions[i..(i + 1)]);
            Assert.True(alone.allclose(batched[i..(i + 1)], atol: 1e-6), $"{step.Name}, image {i}");
        }
        Assert.True(batched.min().item<float>() >= 0 && batched.max().item<float>() <= 1);
    }

    [Fact]
    public void The_pipeline_is_repeatable_for_a_seed_and_its_stages_end_in_its_result()
    {
        var photo = new PrintAndPhoto();
        using var sample = FashionMnist.LoadSample(limit: 6);
        using var first = photo.Apply(sample.Images, 11);
        using var again = photo.Apply(sample.Images, 11);
        using var other = photo.Apply(sample.Images, 12);
        Assert.True(Same(first, again));
        Assert.False(Same(first, other));
        var stages = photo.Stages(sample.Images, 11);
        Assert.Equal(photo.Steps.Count, stages.Count);
        Assert.True(Same(stages[^1], first));
        Assert.True(first.min().item<float>() >= 0 && first.max().item<float>() <= 1);
    }

    [Fact]
    public void Survival_counts_as_kurakin_defines_it()
    {
        using var model = FashionCnn.Load(CPU);
        using var sample = FashionMnist.LoadSample(limit: 40);
        var photo = new PrintAndPhoto();
        // Clean images as their own "adversarial" images: nothing succeeds, so nothing is counted.
        var nothing = photo.Survival(model, sample.Images, sample.Images, sample.Labels, seed: 1);
        Assert.Equal(0, nothing.Counted);
        Assert.Equal(nothing.CleanAccuracy, 1 - nothing.SuccessBefore, 6);
        // With a pipeline that changes nothing, every successful example survives.
        var identity = new PrintAndPhoto(new SensorNoise(0));
        using var attack = new Pgd(model, new PgdOptions(0.1, 0.02, 10)).Run(sample.Images, sample.Labels);
        var kept = identity.Survival(model, sample.Images, attack.Adversarial, sample.Labels, photos: 2);
        Assert.Equal(80, kept.Photos);
        Assert.True(kept.Counted > 40);
        Assert.Equal(kept.Counted, kept.Survived);
        Assert.Equal(attack.SuccessRate, kept.SuccessBefore, 6);
        Assert.Equal(kept.SuccessBefore, kept.SuccessAfter, 6);
    }

    [Fact]
    public void Eot_examples_survive_the_pipeline_more_often_than_plain_ones()
    {
        using var model = FashionCnn.Load(CPU);
        using var sample = FashionMnist.LoadSample(limit: 100);
        var photo = new PrintAndPhoto();
        using var plain = new Pgd(model, new PgdOptions(0.1, 0.02, 10)).Run(sample.Images, sample.Labels);
        using var robust = new Pgd(model, new PgdOptions(0.1, 0.02, 10, RobustTo: photo, Draws: 4)).Run(sample.Images, sample.Labels);
        var plainSurvival = photo.Survival(model, sample.Images, plain.Adversarial, sample.Labels, seed: 99, photos: 2);
        var robustSurvival = photo.Survival(model, sample.Images, robust.Adversarial, sample.Labels, seed: 99, photos: 2);
        Assert.True(robustSurvival.SurvivalRate > plainSurvival.SurvivalRate + 0.2,
            $"EOT {robustSurvival.SurvivalRate:F2} vs plain {plainSurvival.SurvivalRate:F2}");
        Assert.True(robust.Perturbation.abs().max().item<float>() <= 0.1 + 1e-6);
        Assert.True(robust.Adversarial.min().item<float>() >= 0 && robust.Adversarial.max().item<float>() <= 1);
        Assert.True((robust.Adversarial - sample.Images).allclose(robust.Perturbation, atol: 1e-6));
    }

    [Fact]
    public void Bad_strengths_are_clear_errors()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Lighting(-0.1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Lighting(0, 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RotateAndScale(-1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RotateAndScale(5, -0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GaussianBlur(-0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GaussianBlur(double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SensorNoise(-0.01));
        Assert.Throws<ArgumentOutOfRangeException>(() => new JpegCompression(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new JpegCompression(101));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PrintAndPhoto(new PrintAndPhotoOptions(NoiseSigma: -1)));
        Assert.Throws<ArgumentException>(() => new PrintAndPhoto(Array.Empty<PhotoStep>()));
        Assert.Throws<ArgumentException>(() => new JpegCompression(50).Apply(zeros(1, 2, 8, 8), zeros(1, 0)));

        using var model = ToyModels.CornerDetector();
        using var image = full(1, 1, 8, 8, 0.5f);
        using var labels = tensor(new long[] { 0 });
        var photo = new PrintAndPhoto();
        Assert.Throws<ArgumentOutOfRangeException>(() => new Pgd(model, new PgdOptions(-0.1, RobustTo: photo)).Run(image, labels));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Pgd(model, new PgdOptions(RobustTo: photo, Draws: 0)).Run(image, labels));
        Assert.Throws<ArgumentException>(() => photo.Survival(model, image, zeros(1, 1, 4, 4), labels));
        Assert.Throws<ArgumentOutOfRangeException>(() => photo.Survival(model, image, image, labels, photos: 0));
        Assert.Throws<ArgumentException>(() => photo.Survival(model, image, image + 0.6, labels));
    }

    [Fact]
    public void Works_on_an_imagenet_sized_colour_network()
    {
        using var model = TorchVisionModels.CreateUntrained("resnet18", CPU);
        using var images = rand(2, 3, 224, 224, generator: new Generator(8));
        using var labels = tensor(new long[] { 1, 2 });
        var photo = new PrintAndPhoto();
        using var result = new Pgd(model, new PgdOptions(0.03, 0.01, 1, RobustTo: photo, Draws: 2)).Run(images, labels);
        Assert.Equal(new long[] { 2, 3, 224, 224 }, result.Adversarial.shape);
        Assert.True(result.Perturbation.abs().max().item<float>() <= 0.03 + 1e-6);
        Assert.True(result.Adversarial.min().item<float>() >= 0 && result.Adversarial.max().item<float>() <= 1);
        Assert.True(model.Network.parameters().All(p => p.grad is null));
        var survival = photo.Survival(model, images, result.Adversarial, labels);
        Assert.Equal(2, survival.Photos);
        var stages = photo.Stages(images, 0);
        Assert.All(stages, s => Assert.Equal(images.shape, s.shape));
    }

    [Fact]
    public void Leaves_no_tensor_alive()
    {
        using var model = FashionCnn.Load(CPU);
        using var images = rand(2, 1, 28, 28, generator: new Generator(9));
        using var labels = tensor(new long[] { 0, 1 });
        var photo = new PrintAndPhoto();
        void Run()
        {
            photo.Apply(images, 1).Dispose();
            foreach (var stage in photo.Stages(images, 1))
                stage.Dispose();
            photo.Survival(model, images, images, labels, photos: 2);
            new Pgd(model, new PgdOptions(0.05, 0.01, 2, RobustTo: photo, Draws: 2)).Run(images, labels).Dispose();
        }
        Run();
        long before = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Run();
        Run();
        Assert.Equal(before, TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();
}
