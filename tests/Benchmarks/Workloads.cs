using WhatNetworksLearn;
using WhatNetworksLearn.Adversarial;
using WhatNetworksLearn.Attribution;
using WhatNetworksLearn.Classical;
using WhatNetworksLearn.Data;
using WhatNetworksLearn.Features;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Synthesis;
using static TorchSharp.torch;

namespace Benchmarks;

/// <summary>One technique at a stated size: what the benchmarks time and the memory check repeats.</summary>
public sealed record Workload(string Name, string Size, Action Run);

/// <summary>
/// The models and inputs every measurement shares, loaded once, and one workload per technique. ResNet-18 has random
/// weights (seed 0): the time of a forward or backward pass does not depend on what the weights are.
/// </summary>
public sealed class Workloads : IDisposable
{
    public VisionModel Fashion { get; } = FashionCnn.Load(CPU);
    public VisionModel ResNet { get; }
    public VisionModel Trunk { get; } = ModelRegistry.Load("resnet18-trunk", CPU);
    public Tensor Garments { get; }
    public Tensor GarmentLabels { get; }
    public Tensor Cat { get; }
    // Single images sliced once here: slicing inside a workload would make a tensor per run and look like a leak.
    readonly Tensor firstGarment, firstGarmentBatch, firstLabel, catImage;
    readonly Hog hog = new(HogClassifier.FashionMnistHog);
    readonly Lazy<Tensor> tsneInput = new(() => Tsne.FashionMnistBenchmarkInput().Features);

    public Workloads()
    {
        manual_seed(0);
        ResNet = TorchVisionModels.CreateUntrained("resnet18", CPU);
        var sample = FashionMnist.LoadSample(100);
        (Garments, GarmentLabels) = (sample.Images, sample.Labels);
        using var photo = ImageFiles.Load(Kit.DataPath("images", "chelsea.png"));
        Cat = Images.Prepare(photo, ResNet);
        (firstGarment, firstGarmentBatch, firstLabel, catImage) = (Garments[0], Garments[..1], GarmentLabels[..1], Cat[0]);
    }

    /// <summary>Every technique of the kit at the size its benchmark states.</summary>
    public IReadOnlyList<Workload> All() =>
    [
        new("occlusion", "28 x 28, patch 8, stride 1, fashion-cnn", () =>
            new Occlusion(Fashion, new OcclusionOptions(PatchSize: 8, Stride: 1)).Run(firstGarment, 9).Dispose()),
        new("occlusion", "224 x 224, patch 32, stride 8, ResNet-18", () =>
            new Occlusion(ResNet, new OcclusionOptions(PatchSize: 32, Stride: 8, BatchSize: 32)).Run(catImage, ImageNetClasses.Tabby).Dispose()),
        new("class saliency", "100 images, fashion-cnn", () => ClassSaliency(Fashion, Garments, 0)),
        new("class saliency", "1 photo 224 x 224, ResNet-18", () => ClassSaliency(ResNet, Cat, ImageNetClasses.Tabby)),
        new("guided backprop", "100 images, one relu3 unit, fashion-cnn", () =>
            new UnitGradient(Fashion, ReluBackward.Guided).Of(Garments, "relu3", 0).Dispose()),
        new("guided backprop", "1 photo 224 x 224, one layer4 unit, ResNet-18", () =>
            new UnitGradient(ResNet, ReluBackward.Guided).Of(Cat, "layer4", 0).Dispose()),
        new("class visualisation", "100 steps, 10 classes at once, fashion-cnn", () =>
            ActivationMaximization.ClassModels(Fashion, Enumerable.Range(0, 10).ToList(), new MaximizationOptions(Steps: 100)).Dispose()),
        new("DeepDream", "one octave of 10 steps, 224 x 224, ResNet-18 trunk", () =>
            DeepDream.Run(Trunk, Cat, new DeepDreamOptions("layer3.1.relu2", Octaves: 1, StepsPerOctave: 10)).Dispose()),
        new("FGSM", "100 images, fashion-cnn", () => new Fgsm(Fashion).Run(Garments, GarmentLabels).Dispose()),
        new("PGD", "100 images, 20 steps, fashion-cnn", () => new Pgd(Fashion, new PgdOptions(Steps: 20)).Run(Garments, GarmentLabels).Dispose()),
        new("EOT-PGD", "100 images, 8 steps, 4 print-and-photo draws per step, fashion-cnn", () =>
            new Pgd(Fashion, new PgdOptions(0.1, 0.025, 8, RobustTo: new PrintAndPhoto(), Draws: 4)).Run(Garments, GarmentLabels).Dispose()),
        new("one-pixel attack", "one generation of 400 candidates, fashion-cnn", () =>
            new OnePixel(Fashion, new OnePixelOptions(Population: 400, Iterations: 1)).Run(firstGarmentBatch, firstLabel).Dispose()),
        new("fooling images", "gradient ascent, 10 classes, 10 steps, fashion-cnn", () =>
            FoolingImages.ByGradientAscent(Fashion, Enumerable.Range(0, 10).ToList(), new GradientFoolingOptions(Steps: 10, Goal: 0.999999)).Dispose()),
        new("fooling images", "evolution, one generation of 100, fashion-cnn", () =>
            FoolingImages.ByEvolution(Fashion, Enumerable.Range(0, 10).ToList(), new EvolutionOptions(Generations: 1, Population: 100)).Dispose()),
        new("adversarial patch", "10 training steps of 16 images, 14 x 14 patch, fashion-cnn", () =>
            new AdversarialPatch(Fashion, new PatchOptions(Steps: 10)).Train(Garments, 5).Dispose()),
        new("HOG", "forward and backward, 100 images 28 x 28, cells of 4", () =>
        {
            using var input = Garments.detach().requires_grad_(true);
            using var descriptor = hog.forward(input);
            using var sum = descriptor.sum();
            sum.backward();
            input.grad?.Dispose();
        }),
        new("t-SNE", "10,000 Fashion-MNIST test images, PCA to 50, 1,000 iterations", () => Tsne.Embed(tsneInput.Value)),
    ];

    /// <summary>The class saliency map: the class score's plain gradient, one value per pixel.</summary>
    static void ClassSaliency(VisionModel model, Tensor images, int targetClass)
    {
        using var gradient = new UnitGradient(model, ReluBackward.Backprop).Attribute(images, targetClass);
        Attributions.PerPixel(gradient).Dispose();
    }

    public void Dispose()
    {
        Fashion.Dispose();
        ResNet.Dispose();
        Trunk.Dispose();
        hog.Dispose();
        Garments.Dispose();
        GarmentLabels.Dispose();
        Cat.Dispose();
        firstGarment.Dispose();
        firstGarmentBatch.Dispose();
        firstLabel.Dispose();
        catImage.Dispose();
        if (tsneInput.IsValueCreated)
            tsneInput.Value.Dispose();
    }
}
