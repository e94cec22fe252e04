using TorchSharp;
using WhatNetworksLearn.Attribution;
using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

public class ClassSaliencyTests
{
    [Fact]
    public void The_map_is_exactly_the_weight_of_the_pixels_the_score_depends_on()
    {
        using var model = ToyModels.CornerDetector();
        using var image = rand(1, 1, 8, 8, generator: new Generator(1));
        image[0, 0, 0..2, 0..2] = ones(2, 2);   // score 40: the softmax is saturated, so only the raw score has gradient 10
        using var map = Saliency(model, image, 0);
        using var expected = zeros(1, 8, 8);
        expected[0, 0..2, 0..2] = full(2, 2, 10f);
        Assert.True(map.eq(expected).all().item<bool>());
    }

    [Fact]
    public void Colour_channels_are_combined_by_max_or_sum_of_magnitudes()
    {
        // Score of class 0 = sum over channels and pixels of w * (pixel - mean) / std, std 2 in the green channel.
        float[] weights = [1, -2, 0, 3, /* green */ -4, 1, 0, 0, /* blue */ 0.5f, 0.5f, -0.5f, 0];
        var linear = nn.Linear(12, 2);
        using (no_grad())
        {
            linear.weight!.zero_();
            linear.bias!.zero_();
            linear.weight[0] = tensor(weights);
        }
        using var model = new VisionModel("rgb-toy", "toy", nn.Sequential(("flatten", nn.Flatten()), ("linear", linear)),
            new InputSpec(3, 2, 2, [0.1f, 0.2f, 0.3f], [1f, 2f, 1f]), ["x", "y"], null, CPU);
        using var image = rand(1, 3, 2, 2, generator: new Generator(2));
        // Gradients per pixel (red, green / 2, blue): (1, -2, 0.5), (-2, 0.5, 0.5), (0, 0, -0.5), (3, 0, 0).
        using var max = Saliency(model, image, 0, ChannelReduction.Max);
        using var sum = Saliency(model, image, 0, ChannelReduction.Sum);
        Assert.Equal(new float[] { 2, 2, 0.5f, 3 }, max.flatten().data<float>().ToArray());
        Assert.Equal(new float[] { 3.5f, 3, 0.5f, 3 }, sum.flatten().data<float>().ToArray());
    }

    [Fact]
    public void SmoothGrad_does_not_depend_on_how_many_copies_go_through_the_method_at_once()
    {
        // Image by image against the batch, for every attribution method: AttributionContractTests.
        using var model = SmallNet();
        using var pixels = rand(4, 1, 8, 8, ScalarType.Float64, generator: new Generator(3));
        var gradient = new UnitGradient(model, ReluBackward.Backprop);
        using var small = new SmoothGrad(gradient, new SmoothGradOptions(Samples: 5, Seed: 4, BatchSize: 3)).Attribute(pixels, 1);
        using var large = new SmoothGrad(gradient, new SmoothGradOptions(Samples: 5, Seed: 4, BatchSize: 100)).Attribute(pixels, 1);
        Assert.True(small.allclose(large, rtol: 1e-10, atol: 1e-14));
    }

    [Fact]
    public void SmoothGrad_without_noise_is_the_plain_map_and_with_noise_depends_only_on_the_seed()
    {
        using var model = SmallNet();
        using var pixels = rand(2, 1, 8, 8, ScalarType.Float64, generator: new Generator(5));
        var gradient = new UnitGradient(model, ReluBackward.Backprop);
        using var plain = gradient.Attribute(pixels, 0);
        using var noiseless = new SmoothGrad(gradient, new SmoothGradOptions(Samples: 4, NoiseLevel: 0)).Attribute(pixels, 0);
        Assert.True(noiseless.allclose(plain, rtol: 1e-10, atol: 1e-14));

        SmoothGrad Smooth(int seed) => new(gradient, new SmoothGradOptions(Samples: 6, NoiseLevel: 0.2f, Seed: seed));
        using var first = Smooth(7).Attribute(pixels, 0);
        using var again = Smooth(7).Attribute(pixels, 0);
        using var other = Smooth(8).Attribute(pixels, 0);
        Assert.True(first.eq(again).all().item<bool>());
        Assert.False(first.allclose(other));
        Assert.False(first.allclose(plain));
    }

    [Fact]
    public void SmoothGrad_wraps_any_method_and_averages_signed_attributions_or_their_magnitudes()
    {
        using var model = SmallNet();
        using var pixels = rand(2, 1, 8, 8, ScalarType.Float64, generator: new Generator(9));
        var occlusion = new Occlusion(model, new OcclusionOptions(PatchSize: 2, Stride: 2));
        var options = new SmoothGradOptions(Samples: 3, NoiseLevel: 0.1f, Seed: 2);
        using var smooth = new SmoothGrad(occlusion, options).Attribute(pixels, Targets.PerImage([0, 1]));
        using var magnitudes = new SmoothGrad(occlusion, options with { Magnitudes = true }).Attribute(pixels, Targets.PerImage([0, 1]));
        Assert.Equal(pixels.shape, smooth.shape);
        // The same noisy copies by hand: drawn as SmoothGrad draws them, each explained for its image's class.
        using var scope = NewDisposeScope();
        var generator = new Generator(2);
        var range = pixels.flatten(1).amax(1) - pixels.flatten(1).amin(1);
        var noise = randn([1, 3, 1, 8, 8], generator: generator) * (0.1f * range).reshape(2, 1, 1, 1, 1);   // the same draws for each image
        var noisy = pixels.unsqueeze(1) + noise;
        for (int n = 0; n < 2; n++)
        {
            Tensor copies;
            using (PixelRange.AllowOutOfRange())   // noisy copies leave [0,1], as inside SmoothGrad
                copies = occlusion.Attribute(noisy[n], n);
            Assert.True(copies.mean([0]).allclose(smooth[n], rtol: 1e-5, atol: 1e-7), $"image {n}: signed mean");
            Assert.True(copies.abs().mean([0]).allclose(magnitudes[n], rtol: 1e-5, atol: 1e-7), $"image {n}: mean of magnitudes");
        }
        Assert.True(magnitudes.ge(0).all().item<bool>());
    }

    [Fact]
    public void Attributions_per_pixel_need_the_shape_of_the_images()
    {
        using var flat = zeros(8, 8);
        Assert.Contains("N x C x H x W", Assert.Throws<ArgumentException>(() => Attributions.PerPixel(flat)).Message);
    }

    [Fact]
    public void Works_on_torchvision_resnet18()
    {
        manual_seed(0);
        using var model = TorchVisionModels.CreateUntrained("resnet18", CPU);
        using var pixels = rand(2, 3, 224, 224, generator: new Generator(6));
        using var map = Saliency(model, pixels, 281);
        Assert.Equal(new long[] { 2, 224, 224 }, map.shape);
        Assert.True(map.isfinite().all().item<bool>() && map.ge(0).all().item<bool>());
    }

    [Fact]
    public void Bad_settings_are_refused_with_reasons()
    {
        using var model = ToyModels.CornerDetector();
        using var image = zeros(1, 1, 8, 8);
        var gradient = new UnitGradient(model, ReluBackward.Backprop);
        Assert.Throws<ArgumentOutOfRangeException>(() => gradient.Attribute(image, 2));
        Assert.Contains("SmoothGrad samples", Assert.Throws<ArgumentOutOfRangeException>(() => new SmoothGrad(gradient, new SmoothGradOptions(Samples: -1)).Attribute(image, 0)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SmoothGrad(gradient, new SmoothGradOptions(Samples: 2, NoiseLevel: float.NaN)).Attribute(image, 0));
        using var colour = zeros(1, 3, 8, 8);
        Assert.Contains("greyscale", Assert.Throws<ArgumentException>(() => gradient.Attribute(colour, 0)).Message);
        Assert.Contains("one per image", Assert.Throws<ArgumentException>(() => gradient.Attribute(image, Targets.PerImage([0, 1]))).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => gradient.Attribute(image, Targets.PerImage([2])));
    }

    /// <summary>The class saliency map: the plain gradient of the class score, reduced over the channels.</summary>
    static Tensor Saliency(VisionModel model, Tensor pixels, int targetClass, ChannelReduction reduction = ChannelReduction.Max)
    {
        using var gradient = new UnitGradient(model, ReluBackward.Backprop).Attribute(pixels, targetClass);
        return Attributions.PerPixel(gradient, reduction);
    }

    static VisionModel SmallNet()
    {
        manual_seed(11);
        var network = nn.Sequential(("conv1", nn.Conv2d(1, 4, 3, padding: 1)), ("relu1", nn.ReLU()), ("pool", nn.MaxPool2d(2)),
            ("flatten", nn.Flatten()), ("fc", nn.Linear(64, 2)));
        network.to(ScalarType.Float64);
        return new VisionModel("small-net", "test network", network, new InputSpec(1, 8, 8, [0.5f], [0.25f]), ["a", "b"], null, CPU);
    }
}
