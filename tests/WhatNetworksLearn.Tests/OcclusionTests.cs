using WhatNetworksLearn.Attribution;
using WhatNetworksLearn.Data;
using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

public class OcclusionTests
{
    [Fact]
    public void Hiding_the_only_informative_pixels_drops_the_probability_exactly_there()
    {
        using var model = ToyModels.CornerDetector();
        using var image = zeros(1, 8, 8);
        image[0, 0..2, 0..2] = ones(2, 2);  // score of class 0: 10 x 4 = 40, so P(corner) is almost 1
        using var result = new Occlusion(model, new OcclusionOptions(PatchSize: 2, Stride: 2, Fill: 0)).Run(image, 0);
        Assert.Equal(new long[] { 4, 4 }, result.Probabilities.shape);
        // With the corner hidden both scores are 0, so both classes are equally likely: exactly one half.
        Assert.Equal(0.5f, result.Probabilities[0, 0].item<float>(), 6);
        using var elsewhere = result.Probabilities.flatten()[1..];
        Assert.True(elsewhere.allclose(full_like(elsewhere, result.BaseProbability)));
        Assert.True(result.BaseProbability > 0.999f);
    }

    [Fact]
    public void On_the_image_grid_each_patch_value_lands_at_its_centre_pixel()
    {
        using var scope = NewDisposeScope();
        // 28 x 28, a 6-pixel patch moved by 1: 23 x 23 positions; position (r, c) covers rows r … r + 5, its centre pixel is (r + 3, c + 3).
        var values = arange(23 * 23, dtype: ScalarType.Float32).reshape(23, 23);
        var grid = Occlusion.OnImageGrid(values, 28, 28, 6, 1);
        Assert.Equal(new long[] { 28, 28 }, grid.shape);
        foreach (var (r, c) in new[] { (0, 0), (0, 22), (7, 11), (22, 0), (22, 22) })
            Assert.Equal(values[r, c].item<float>(), grid[r + 3, c + 3].item<float>());
        // No patch is centred on rows and columns 0–2 and 26–27: those pixels have no value.
        Assert.Equal(28 * 28 - 23 * 23, grid.isnan().sum().item<long>());
        Assert.True(grid[0..3].isnan().all().item<bool>() && grid[.., 26..].isnan().all().item<bool>());

        // 224 x 224, a 32-pixel patch moved by 24: 9 x 9 positions, centres at 24 r + 16, each filling rows 24 r + 4 … 24 r + 27.
        var coarseValues = arange(81, dtype: ScalarType.Float32).reshape(9, 9);
        var coarse = Occlusion.OnImageGrid(coarseValues, 224, 224, 32, 24);
        Assert.Equal(coarseValues[2, 5].item<float>(), coarse[24 * 2 + 16, 24 * 5 + 16].item<float>());
        Assert.Equal(coarseValues[2, 5].item<float>(), coarse[24 * 2 + 4, 24 * 5 + 27].item<float>());
        Assert.Equal(coarseValues[3, 5].item<float>(), coarse[24 * 3 + 4, 24 * 5 + 16].item<float>());
        Assert.True(coarse[0..4].isnan().all().item<bool>() && coarse[220..].isnan().all().item<bool>());
        Assert.False(coarse[4..220, 4..220].isnan().any().item<bool>());

        // A real run: a 3-pixel patch moved by 1 hides the toy detector's whole 2 x 2 corner only at position (0, 0), which
        // covers pixels 0–2: the lowest probability shows at that patch's centre, pixel (1, 1), not at the corner pixel (0, 0)
        // where stretching the 6 x 6 positions over the 8 x 8 image would put it.
        using var model = ToyModels.CornerDetector();
        var image = zeros(1, 8, 8);
        image[0, 0..2, 0..2] = ones(2, 2);
        var occlusion = new Occlusion(model, new OcclusionOptions(PatchSize: 3, Stride: 1, Fill: 0));
        using var result = occlusion.Run(image, 0);
        var onImage = occlusion.OnImageGrid(result.Probabilities, 8, 8);
        Assert.Equal(1 * 8 + 1, onImage.nan_to_num(2).argmin().item<long>());
        Assert.Equal(0.5f, onImage[1, 1].item<float>(), 6);
    }

    [Fact]
    public void A_heat_map_draws_pixels_without_a_value_grey_and_scales_the_others_alone()
    {
        using var scope = NewDisposeScope();
        var map = tensor(new float[,] { { float.NaN, 2 }, { 4, 6 } });
        var drawn = WhatNetworksLearn.Rendering.Plot.HeatMap(map, WhatNetworksLearn.Rendering.Colormap.Grey);
        Assert.True(drawn[.., 0, 0].allclose(full(3, 0.5f)));
        Assert.Equal(new[] { 0f, 0.5f, 1f }, new[] { drawn[0, 0, 1], drawn[0, 1, 0], drawn[0, 1, 1] }.Select(v => v.item<float>()));
    }

    [Fact]
    public void Equals_a_naive_loop_over_positions()
    {
        using var model = FashionCnn.Load(CPU);
        using var sample = FashionMnist.LoadSample(limit: 1);
        var options = new OcclusionOptions(PatchSize: 7, Stride: 5, Fill: 0.3f, BatchSize: 8);
        using var result = new Occlusion(model, options).Run(sample.Images[0], 9);

        int positions = (28 - 7) / 5 + 1;
        var naive = new float[positions, positions];
        for (int r = 0; r < positions; r++)
            for (int c = 0; c < positions; c++)
            {
                using var copy = sample.Images.clone();
                copy[0, 0, (r * 5)..(r * 5 + 7), (c * 5)..(c * 5 + 7)] = full(7, 7, 0.3f);
                using var p = model.Probabilities(copy);
                naive[r, c] = p[0, 9].item<float>();
            }
        for (int r = 0; r < positions; r++)
            for (int c = 0; c < positions; c++)
                Assert.True(Math.Abs(naive[r, c] - result.Probabilities[r, c].item<float>()) < 1e-5, $"position ({r}, {c})");
    }

    [Fact]
    public void The_result_does_not_depend_on_the_batch_size()
    {
        using var model = FashionCnn.Load(CPU);
        using var sample = FashionMnist.LoadSample(limit: 1);
        using var one = new Occlusion(model, new OcclusionOptions(6, 3, 0.5f, BatchSize: 1)).Run(sample.Images[0], 2);
        using var seven = new Occlusion(model, new OcclusionOptions(6, 3, 0.5f, BatchSize: 7)).Run(sample.Images[0], 2);
        using var all = new Occlusion(model, new OcclusionOptions(6, 3, 0.5f, BatchSize: 1000)).Run(sample.Images[0], 2);
        Assert.True(one.Probabilities.allclose(seven.Probabilities, atol: 1e-6));
        Assert.True(one.Probabilities.allclose(all.Probabilities, atol: 1e-6));
        Assert.True(one.PixelMap.allclose(all.PixelMap, atol: 1e-6));
    }

    [Fact]
    public void With_patches_that_tile_the_image_each_pixel_gets_its_patch_probability()
    {
        using var model = FashionCnn.Load(CPU);
        using var sample = FashionMnist.LoadSample(limit: 1);
        using var result = new Occlusion(model, new OcclusionOptions(7, 7, 0.5f)).Run(sample.Images[0], 0);
        using var expanded = result.Probabilities.repeat_interleave(7, 0).repeat_interleave(7, 1);
        Assert.True(result.PixelMap.allclose(expanded, atol: 1e-6));
    }

    [Fact]
    public void Attributions_are_shaped_like_the_images_and_explain_each_images_own_class()
    {
        using var model = SynthesisTests.SmallCnn();
        using var pixels = rand(2, 3, 32, 32, generator: new Generator(4));
        var occlusion = new Occlusion(model, new OcclusionOptions(PatchSize: 8, Stride: 8));
        using var attributions = occlusion.Attribute(pixels, Targets.PerImage([1, 3]));
        Assert.Equal(pixels.shape, attributions.shape);
        foreach (var (image, cls) in new[] { (0, 1), (1, 3) })
        {
            using var result = occlusion.Run(pixels[image], cls);
            using var drop = result.BaseProbability - result.PixelMap;
            for (int channel = 0; channel < 3; channel++)   // the patch hides every channel of a pixel alike
                Assert.True(attributions[image, channel].allclose(drop, atol: 1e-7), $"image {image}, channel {channel}");
        }
    }

    [Fact]
    public void Bad_settings_are_refused_with_reasons()
    {
        using var model = ToyModels.CornerDetector();
        using var image = zeros(1, 8, 8);
        Assert.Contains("larger than the image", Assert.Throws<ArgumentOutOfRangeException>(() => new Occlusion(model, new OcclusionOptions(PatchSize: 9)).Run(image, 0)).Message);
        Assert.Equal("Stride", Assert.Throws<ArgumentOutOfRangeException>(() => new Occlusion(model, new OcclusionOptions(Stride: 0)).Run(image, 0)).ParamName);
        Assert.Equal("BatchSize", Assert.Throws<ArgumentOutOfRangeException>(() => new Occlusion(model, new OcclusionOptions(BatchSize: 0)).Run(image, 0)).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Occlusion(model, new OcclusionOptions(PatchSize: 2)).Run(image, 5));
    }

    /// <summary>A "feature extractor" whose features are the pixels themselves: 1 x 2 x 2 in, 4 features out.</summary>
    static VisionModel PixelFeatures() =>
        new("pixel-features", "toy", nn.Sequential(("flatten", nn.Flatten())), new InputSpec(1, 2, 2, [0f], [1f]), [], null, CPU);

    [Fact]
    public void The_feature_change_is_one_minus_the_cosine_of_the_covered_and_the_intact_features()
    {
        using var model = PixelFeatures();
        using var image = tensor(new float[] { 0.6f, 0.8f, 0, 0 }).reshape(1, 2, 2);   // features (0.6, 0.8, 0, 0), length 1
        // Black 1-pixel patch: hiding 0.6 leaves (0, 0.8, 0, 0), cosine 0.64 / 0.8 = 0.8; hiding 0.8 leaves (0.6, 0, 0, 0),
        // cosine 0.36 / 0.6 = 0.6; hiding a black pixel with black changes nothing.
        using var black = new Occlusion(model, new OcclusionOptions(PatchSize: 1, Stride: 1, Fill: 0)).RunFeatureChange(image);
        using var expectedBlack = tensor(new float[,] { { 0.2f, 0.4f }, { 0, 0 } });
        Assert.True(black.Changes.allclose(expectedBlack, atol: 1e-6), $"got {black.Changes.ToString(TorchSharp.TensorStringStyle.Numpy)}");
        Assert.True(black.PixelMap.allclose(expectedBlack, atol: 1e-6));
        // Grey 1-pixel patch on the bottom-left pixel: (0.6, 0.8, 0.5, 0), cosine 1 / sqrt(1.25).
        using var grey = new Occlusion(model, new OcclusionOptions(PatchSize: 1, Stride: 1, Fill: 0.5f)).RunFeatureChange(image);
        Assert.Equal(1 - 1 / Math.Sqrt(1.25), grey.Changes[1, 0].item<float>(), 5);
        // A grey patch over the whole image (one position): (0.5, 0.5, 0.5, 0.5), cosine 0.7 / 1; every pixel gets 0.3.
        using var whole = new Occlusion(model, new OcclusionOptions(PatchSize: 2, Stride: 1, Fill: 0.5f)).RunFeatureChange(image.unsqueeze(0));
        Assert.Equal(new long[] { 1, 1 }, whole.Changes.shape);
        Assert.True(whole.PixelMap.allclose(full(2, 2, 0.3f), atol: 1e-6), $"got {whole.PixelMap.ToString(TorchSharp.TensorStringStyle.Numpy)}");
    }

    [Fact]
    public void The_feature_change_refuses_an_image_whose_features_are_all_zero()
    {
        using var model = PixelFeatures();
        using var black = zeros(1, 2, 2);
        var error = Assert.Throws<ArgumentException>(() => new Occlusion(model, new OcclusionOptions(PatchSize: 1, Stride: 1)).RunFeatureChange(black));
        Assert.Contains("zero everywhere", error.Message);
        using var two = rand(2, 1, 2, 2);
        Assert.Contains("one image at a time", Assert.Throws<ArgumentException>(() => new Occlusion(model, new OcclusionOptions(PatchSize: 1, Stride: 1)).RunFeatureChange(two)).Message);
    }
}
