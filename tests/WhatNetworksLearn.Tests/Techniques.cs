using WhatNetworksLearn.Adversarial;
using WhatNetworksLearn.Attribution;
using WhatNetworksLearn.Features;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Synthesis;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

/// <summary>The kit's techniques as one list, so that sweeps (bad input, disposal) cannot forget one.</summary>
static class Techniques
{
    /// <summary>
    /// Every technique that takes images, run on a batch as a student would call it, its result disposed. The
    /// lambdas dispose what they make themselves, so any tensor left alive afterwards is the technique's.
    /// </summary>
    public static readonly Dictionary<string, Action<VisionModel, Tensor>> OnImages = new()
    {
        ["occlusion"] = (m, x) => new Occlusion(m).Attribute(x, 0).Dispose(),
        ["class saliency"] = (m, x) =>
        {
            using var gradient = new UnitGradient(m, ReluBackward.Backprop).Attribute(x, 0);
            Attributions.PerPixel(gradient).Dispose();
        },
        ["guided backprop"] = (m, x) => new UnitGradient(m, ReluBackward.Guided).Of(x, "relu3", 0).Dispose(),
        ["activation maps"] = (m, x) => ActivationMaps.Of(m, x, "relu2").Dispose(),
        ["embeddings"] = (m, x) => Embeddings.Of(m, x).Dispose(),
        ["top patches"] = (m, x) => TopPatches.Find(m, x, "relu3", 0, count: 1),
        ["saliency segmentation"] = (m, x) =>
        {
            using var image = x.shape[0] == 1 ? x[0] : x.alias();   // one image is C x H x W; anything else shows the error
            SaliencySegmentation.Run(m, image, 0).Dispose();
        },
        ["deepdream"] = (m, x) => DeepDream.Run(m, x, new DeepDreamOptions("relu2", Octaves: 1, StepsPerOctave: 1)).Dispose(),
        ["fgsm"] = (m, x) =>
        {
            using var labels = zeros(x.shape[0], ScalarType.Int64);
            new Fgsm(m).Run(x, labels).Dispose();
        },
        ["pgd"] = (m, x) =>
        {
            using var labels = zeros(x.shape[0], ScalarType.Int64);
            new Pgd(m, new PgdOptions(Steps: 1)).Run(x, labels).Dispose();
        },
        ["one pixel"] = (m, x) =>
        {
            using var labels = zeros(x.shape[0], ScalarType.Int64);
            new OnePixel(m, new OnePixelOptions(Population: 4, Iterations: 1)).Run(x, labels).Dispose();
        },
        ["eot-pgd"] = (m, x) =>
        {
            using var labels = zeros(x.shape[0], ScalarType.Int64);
            new Pgd(m, new PgdOptions(Steps: 1, RobustTo: new PrintAndPhoto(), Draws: 2)).Run(x, labels).Dispose();
        },
        ["adversarial patch"] = (m, x) =>
        {
            using var labels = zeros(x.shape[0], ScalarType.Int64);
            var attack = new AdversarialPatch(m, new PatchOptions(PatchSize: 6, Steps: 1, BatchSize: 1));
            using var training = attack.Train(x, 1);
            attack.Evaluate(training.Patch, x, labels, 1).Dispose();
        },
    };
}
