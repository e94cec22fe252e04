using WhatNetworksLearn.Models;
using WhatNetworksLearn.Synthesis;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

/// <summary>Feature inversion (Mahendran and Vedaldi, 2015): its total-variation prior, and reconstructions whose answer is known.</summary>
public class FeatureInversionTests
{
    /// <summary>1 x 8 x 8 images; layer "double" is 2 x the pixels, flattened: a linear map whose only preimage of a photo's features is the photo.</summary>
    static VisionModel Doubling()
    {
        var linear = nn.Linear(64, 64, hasBias: false);
        using (no_grad())
            linear.weight!.copy_(eye(64) * 2);
        return new VisionModel("doubling", "toy", nn.Sequential(("flatten", nn.Flatten()), ("double", linear)), new InputSpec(1, 8, 8, [0f], [1f]), [], null, CPU);
    }

    /// <summary>1 x 8 x 8 images; layer "mean" is the mean of all pixels, one number: every image of that brightness matches.</summary>
    static VisionModel Brightness() =>
        new("brightness", "toy", nn.Sequential(("mean", nn.AdaptiveAvgPool2d(1))), new InputSpec(1, 8, 8, [0f], [1f]), [], null, CPU);

    [Fact]
    public void The_total_variation_of_a_two_by_two_image_and_its_gradient_are_the_hand_computed_ones()
    {
        // a b / c d = 0.1 0.4 / 0.3 0.9, a missing neighbour equal to the pixel: the four pixels add
        // (b - a)^2 + (c - a)^2, (d - b)^2, (d - c)^2 and 0, so TV = (0.09 + 0.04 + 0.25 + 0.36) / 4.
        using var image = tensor(new[] { 0.1, 0.4, 0.3, 0.9 }).reshape(1, 1, 2, 2).requires_grad_(true);
        using var tv = FeatureInversion.TotalVariationOf(image);
        Assert.Equal(0.185, tv.item<double>(), 12);
        tv.sum().backward();
        // d/da = (-2(b - a) - 2(c - a)) / 4, d/db = (2(b - a) - 2(d - b)) / 4, d/dc = (2(c - a) - 2(d - c)) / 4, d/dd = (2(d - b) + 2(d - c)) / 4.
        var gradient = image.grad!.flatten().data<double>().ToArray();
        Assert.Equal([-0.25, -0.1, -0.2, 0.55], gradient.Select(g => Math.Round(g, 12)));
    }

    [Theory]
    [InlineData(2.0)]
    [InlineData(1.0)]
    [InlineData(1.5)]
    public void The_total_variation_gradient_agrees_with_finite_differences(double exponent)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(3);
        var images = rand([2, 3, 5, 6], ScalarType.Float64, generator: generator).requires_grad_(true);
        var direction = randn([2, 3, 5, 6], ScalarType.Float64, generator: generator);
        FeatureInversion.TotalVariationOf(images, exponent).sum().backward();
        double analytic = (images.grad! * direction).sum().item<double>();
        const double h = 1e-6;
        using var noGrad = no_grad();
        double numeric = (FeatureInversion.TotalVariationOf(images + h * direction, exponent).sum()
            - FeatureInversion.TotalVariationOf(images - h * direction, exponent).sum()).item<double>() / (2 * h);
        Assert.True(Math.Abs(analytic) > 1e-3, "The direction must change the total variation, or the comparison says nothing.");
        Assert.Equal(numeric, analytic, Math.Abs(analytic) * 1e-6);
    }

    [Fact]
    public void Inverting_a_linear_layer_without_a_prior_finds_the_photo()
    {
        using var model = Doubling();
        using var photo = rand([1, 1, 8, 8], generator: new Generator(5)) * 0.8 + 0.1;
        using var result = FeatureInversion.Reconstruct(model, photo, ["double"],
            new InversionOptions(Steps: 300, StepSize: 0.01, TvWeight: 0, Basis: ImageBasis.Pixels));
        Assert.True(result.FeatureDistance[0] < 1e-3, $"relative feature distance {result.FeatureDistance[0]}");
        Assert.True(result.PixelCorrelation[0] > 0.99, $"correlation {result.PixelCorrelation[0]}");
        Assert.True((result.Images - photo).abs().max().item<float>() < 0.03, "every pixel must come back");
        Assert.True(result.Objective[^1] > result.Objective[0], "the objective must rise");
    }

    [Fact]
    public void With_only_the_brightness_to_match_the_prior_picks_the_flat_image_of_that_brightness()
    {
        using var model = Brightness();
        using var photo = rand([1, 1, 8, 8], generator: new Generator(6));
        using var result = FeatureInversion.Reconstruct(model, photo, ["mean"],
            new InversionOptions(Steps: 300, StepSize: 0.01, TvWeight: 1, Basis: ImageBasis.Pixels, Noise: 0.3));
        Assert.Equal(photo.mean().item<float>(), result.Images.mean().item<float>(), 0.01);
        Assert.True(result.Images.std().item<float>() < 0.02, $"the prior must flatten the starting noise; std {result.Images.std().item<float>()}");
        Assert.True(FeatureInversion.Correlation(result.Images, photo).item<float>() < 0.5, "a flat image does not correlate with the photo");
    }

    [Fact]
    public void Each_layer_gets_its_own_image_and_the_correlation_is_pearsons()
    {
        using var model = Doubling();
        using var photo = rand([1, 1, 8, 8], generator: new Generator(8));
        using var result = FeatureInversion.Reconstruct(model, photo, ["double", "flatten"], new InversionOptions(Steps: 2));
        Assert.Equal([2L, 1, 8, 8], result.Images.shape);
        Assert.Equal(["double", "flatten"], result.Layers);
        using var a = tensor(new[] { 1f, 2f, 3f, 4f }).reshape(1, 4);
        using var b = tensor(new[] { 10f, 30f, 20f, 40f }).reshape(1, 4);
        Assert.Equal(0.8, FeatureInversion.Correlation(a, b).item<float>(), 5);
        Assert.Equal(-1, FeatureInversion.Correlation(a, -a).item<float>(), 5);
    }

    [Fact]
    public void Two_photos_or_a_wrong_count_of_layers_are_refused_with_a_reason()
    {
        using var model = Doubling();
        using var two = rand(2, 1, 8, 8);
        Assert.Contains("one photo", Assert.Throws<ArgumentException>(() => FeatureInversion.Reconstruct(model, two, ["double"])).Message);
        Assert.Contains("at least one layer", Assert.Throws<ArgumentException>(() => FeatureInversion.Reconstruct(model, two[..1], [])).Message);
        Assert.Contains("no layer named", Assert.Throws<ArgumentException>(() => FeatureInversion.Reconstruct(model, two[..1], ["layer9"])).Message);
    }
}
