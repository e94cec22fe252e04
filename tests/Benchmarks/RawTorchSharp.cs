using Catalogue;
using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace Benchmarks;

/// <summary>
/// Workloads of the catalogue written with TorchSharp alone, no kit code between the model and autograd: what the kit's
/// own version of the same computation should cost (alternate.py pairs each with the kit's workload of the same name).
/// </summary>
public static class RawTorchSharp
{
    /// <summary>Added to the kit workload's size to name its raw counterpart.</summary>
    public const string Suffix = ", raw TorchSharp";

    public static IReadOnlyList<Workload> All(BenchmarkInputs b) =>
    [
        new("class saliency", "100 images, fashion-cnn" + Suffix, () => ClassSaliency(b.Fashion, b.Garments, 0)),
        new("class saliency", "1 photo 224 x 224, ResNet-18" + Suffix, () => ClassSaliency(b.ResNet, b.Cat, ImageNetClasses.Tabby)),
    ];

    /// <summary>The class score's gradient with respect to the pixels (the input only), then its largest magnitude per pixel.</summary>
    static void ClassSaliency(VisionModel model, Tensor images, int target)
    {
        using var scope = NewDisposeScope();
        var x = images.detach().requires_grad_(true);
        var score = model.Module.forward(x)[.., target].sum();
        autograd.grad([score], [x])[0].abs().amax(1);
    }
}
