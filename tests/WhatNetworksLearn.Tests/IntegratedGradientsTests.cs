using TorchSharp;
using WhatNetworksLearn.Attribution;
using WhatNetworksLearn.Data;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Synthesis;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

public sealed class IntegratedGradientsTests : IDisposable
{
    readonly VisionModel fashion = FashionCnn.Load(CPU);
    readonly FashionMnist.LabeledImages sample = FashionMnist.LoadSample(8);

    /// <summary>A linear model in float64 on 2 x 4 x 4 images: score c = w_c · (x − mean) / std + b_c.</summary>
    static (VisionModel Model, Tensor Weights) Linear()
    {
        manual_seed(21);
        var linear = nn.Linear(32, 3);
        var network = nn.Sequential(("flatten", nn.Flatten()), ("linear", linear));
        network.to(ScalarType.Float64);
        var model = new VisionModel("linear", "toy", network, new InputSpec(2, 4, 4, [0.25f, 0.5f], [0.5f, 2f]), ["a", "b", "c"], null, CPU);
        // The gradient with respect to the pixels: each weight divided by its channel's std.
        var weights = linear.weight!.detach().reshape(3, 2, 4, 4) / tensor(new double[] { 0.5, 2 }).reshape(1, 2, 1, 1);
        return (model, weights);
    }

    [Theory]
    [InlineData(IntegrationBaseline.Black, 1)]
    [InlineData(IntegrationBaseline.Blurred, 7)]
    [InlineData(IntegrationBaseline.UniformNoise, 64)]
    public void On_a_linear_model_the_attributions_are_the_difference_to_the_baseline_times_the_weights(IntegrationBaseline baseline, int steps)
    {
        var (model, weights) = Linear();
        using (model)
        using (weights)
        using (var scope = NewDisposeScope())
        {
            var images = rand(3, 2, 4, 4, ScalarType.Float64, generator: new Generator(22));
            int[] classes = [2, 0, 1];
            using var result = new IntegratedGradients(model, new IntegratedGradientsOptions(steps, baseline, BatchSize: 5)).Explain(images, Targets.PerImage(classes));
            var expectedBaselines = baseline switch
            {
                IntegrationBaseline.Black => zeros_like(images),
                IntegrationBaseline.Blurred => ImageFilters.GaussianBlur(images, 0.1 * 4),
                _ => rand(1, 2, 4, 4, ScalarType.Float64, generator: new Generator(0)).expand_as(images),   // one noise image for the batch
            };
            Assert.True(result.Baselines.allclose(expectedBaselines, rtol: 1e-12, atol: 1e-12));
            for (int i = 0; i < classes.Length; i++)
            {
                var expected = (images[i] - expectedBaselines[i]) * weights[classes[i]];
                Assert.True(result.Attributions[i].allclose(expected, rtol: 1e-10, atol: 1e-12), $"image {i}");
            }
            Assert.All(result.CompletenessErrors(), error => Assert.True(error < 1e-9, $"completeness error {error}"));
        }
    }

    [Theory]
    [InlineData(IntegrationBaseline.Black)]
    [InlineData(IntegrationBaseline.Blurred)]
    [InlineData(IntegrationBaseline.UniformNoise)]
    public void On_fashion_cnn_the_attributions_add_up_to_the_change_of_the_score_at_64_steps(IntegrationBaseline baseline)
    {
        using var scope = NewDisposeScope();
        var classes = fashion.Predict(sample.Images).Select(p => p.Class).ToArray();
        using var result = new IntegratedGradients(fashion, new IntegratedGradientsOptions(64, baseline)).Explain(sample.Images, Targets.PerImage(classes));
        // The scores at both ends, computed here from the model alone.
        using var noGrad = no_grad();
        // From noise the path crosses far more ReLU kinks than from black or a blur: 64 steps meet the 5 % that
        // Sundararajan et al. (2017) ask of completeness, not 1 % (one image of eight is at 3.7 % with seed 0).
        double tolerance = baseline == IntegrationBaseline.UniformNoise ? 0.05 : 0.01;
        var atImages = fashion.Forward(sample.Images);
        var atBaselines = fashion.Forward(result.Baselines);
        for (int i = 0; i < classes.Length; i++)
        {
            double change = atImages[i, classes[i]].item<float>() - atBaselines[i, classes[i]].item<float>();
            double sum = result.Attributions[i].sum().item<float>();
            Assert.True(Math.Abs(sum - change) <= tolerance * Math.Abs(change), $"image {i}: attributions sum to {sum}, the score changed by {change}");
        }
    }

    [Fact]
    public void The_result_does_not_depend_on_how_the_path_points_are_batched()
    {
        using var scope = NewDisposeScope();
        int[] classes = [0, 9, 3, 3, 7, 1, 2, 5];
        var options = new IntegratedGradientsOptions(Steps: 16, Baseline: IntegrationBaseline.UniformNoise, Seed: 3);
        var reference = new IntegratedGradients(fashion, options with { BatchSize = 128 }).Attribute(sample.Images, Targets.PerImage(classes));
        foreach (var batchSize in new[] { 1, 5, 16, 1000 })
        {
            var batched = new IntegratedGradients(fashion, options with { BatchSize = batchSize }).Attribute(sample.Images, Targets.PerImage(classes));
            Assert.True(batched.allclose(reference, rtol: 1e-4, atol: 1e-6), $"batches of {batchSize} path points");
        }
        // One image at a time equals the batch: AttributionContractTests, for every attribution method.
    }

    [Fact]
    public void More_steps_shrink_the_completeness_error_and_the_noise_baseline_is_seeded()
    {
        using var scope = NewDisposeScope();
        var image = sample.Images[..1];
        double Error(int steps)
        {
            using var result = new IntegratedGradients(fashion, new IntegratedGradientsOptions(steps)).Explain(image, 0);
            return result.CompletenessErrors()[0];
        }
        Assert.True(Error(128) < Error(8));
        var noise = new IntegratedGradients(fashion, new IntegratedGradientsOptions(Baseline: IntegrationBaseline.UniformNoise, Seed: 4));
        Assert.True(SynthesisTests.Identical(noise.Baselines(image), noise.Baselines(image)));
        var other = new IntegratedGradients(fashion, new IntegratedGradientsOptions(Baseline: IntegrationBaseline.UniformNoise, Seed: 5));
        Assert.False(SynthesisTests.Identical(other.Baselines(image), noise.Baselines(image)));
    }

    [Fact]
    public void A_pixel_equal_to_the_baseline_gets_nothing()
    {
        // The black baseline's blind spot, which notebook 17 asks about: x − x′ is 0 there, whatever the gradient.
        using var scope = NewDisposeScope();
        var image = sample.Images[..1];
        var attributions = new IntegratedGradients(fashion, new IntegratedGradientsOptions(16)).Attribute(image, 0);
        Assert.True(attributions.masked_select(image.eq(0)).eq(0).all().item<bool>());
        Assert.True(attributions.masked_select(image.gt(0)).ne(0).any().item<bool>());
    }

    public void Dispose()
    {
        fashion.Dispose();
        sample.Images.Dispose();
        sample.Labels.Dispose();
    }
}
