using WhatNetworksLearn.Attribution;
using WhatNetworksLearn.Features;
using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

/// <summary>
/// Every technique also runs on a TorchVision classifier, so a user who switches a notebook to "resnet18" gets
/// working cells. Random weights suffice to check shapes and flow; the techniques' correctness is tested elsewhere.
/// </summary>
public class TorchVisionCompatibilityTests : IDisposable
{
    readonly VisionModel model;
    readonly Tensor images;

    public TorchVisionCompatibilityTests()
    {
        manual_seed(11);
        model = TorchVisionModels.CreateUntrained("resnet18", CPU);
        images = rand(2, 3, 224, 224);
    }

    public void Dispose()
    {
        images.Dispose();
        model.Dispose();
    }

    [Fact]
    public void Attribution_methods_give_finite_attributions_shaped_like_the_images()
    {
        IAttribution[] methods =
        [
            new Occlusion(model, new OcclusionOptions(PatchSize: 112, Stride: 112)),
            new UnitGradient(model, ReluBackward.Backprop),
            new UnitGradient(model, ReluBackward.Guided),
        ];
        foreach (var method in methods)
        {
            using var attributions = method.Attribute(images, ImageNetClasses.Toaster);
            Assert.Equal(new long[] { 2, 3, 224, 224 }, attributions.shape);
            Assert.True(attributions.isfinite().all().item<bool>(), method.GetType().Name);
            using var map = Attributions.PerPixel(attributions);
            Assert.Equal(new long[] { 2, 224, 224 }, map.shape);
        }
    }

    [Fact]
    public void Feature_tools_read_its_layers()
    {
        Assert.Equal(64, Filters.FirstLayerTiles(model).Count);
        using var maps = ActivationMaps.Of(model, images.narrow(0, 0, 1), "layer2");
        Assert.Equal(new long[] { 128, 28, 28 }, maps.shape);
        using var embeddings = Embeddings.Of(model, images);
        Assert.Equal(new long[] { 2, 512 }, embeddings.shape);
        // The stem: 7x7 stride 2 convolution, then 3x3 stride 2 max pooling.
        Assert.Equal(new ReceptiveField(11, 4, 0), ReceptiveField.Of(ReceptiveField.PathTo(model, "maxpool")));
        var patches = TopPatches.Find(model, images, "layer1", channel: 3, count: 2);
        Assert.Equal(2, patches.Count);
    }
}
