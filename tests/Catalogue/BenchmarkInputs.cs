using WhatNetworksLearn;
using WhatNetworksLearn.Classical;
using WhatNetworksLearn.Data;
using WhatNetworksLearn.Features;
using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace Catalogue;

/// <summary>
/// The models and inputs every benchmark shares, loaded once. ResNet-18 has random weights (seed 0): the time of a
/// forward or backward pass does not depend on what the weights are. Single images are sliced once here: slicing
/// inside a run would make a tensor per run and look like a leak to the memory check.
/// </summary>
public sealed class BenchmarkInputs : IDisposable
{
    readonly Lazy<Tensor> tsneInput = new(() => TsneInput().Features);

    public BenchmarkInputs()
    {
        manual_seed(0);
        ResNet = TorchVisionModels.CreateUntrained("resnet18", CPU);
        var sample = FashionMnist.LoadSample(100);
        (Garments, GarmentLabels) = (sample.Images, sample.Labels);
        using var photo = ImageFiles.Load(Kit.DataPath("images", "chelsea.png"));
        Cat = Images.Prepare(photo, ResNet);
        (FirstGarment, FirstGarmentBatch, FirstFourGarments, FirstLabel, CatImage) = (Garments[0], Garments[..1], Garments[..4], GarmentLabels[..1], Cat[0]);
        GarmentMaps = Garments.select(1, 0);
    }

    public VisionModel Fashion { get; } = FashionCnn.Load(CPU);
    public VisionModel ResNet { get; }
    public VisionModel Trunk { get; } = ModelRegistry.Load("resnet18-trunk", CPU);
    /// <summary>100 Fashion-MNIST test images (1 x 28 x 28) and their labels.</summary>
    public Tensor Garments { get; }
    public Tensor GarmentLabels { get; }
    /// <summary>Chelsea the cat, prepared for ResNet-18: 1 x 3 x 224 x 224.</summary>
    public Tensor Cat { get; }
    public Tensor FirstGarment { get; }
    public Tensor FirstGarmentBatch { get; }
    public Tensor FirstFourGarments { get; }
    public Tensor FirstLabel { get; }
    public Tensor CatImage { get; }
    /// <summary>A map per garment for the faithfulness measures (100 x 28 x 28): its own brightness, bright pixels first.</summary>
    public Tensor GarmentMaps { get; }
    public Hog Hog { get; } = new(HogClassifier.FashionMnistHog);

    /// <summary>The t-SNE benchmark's input, made on first use (it needs the full Fashion-MNIST test set): see <see cref="TsneInput"/>.</summary>
    public Tensor TsneFeatures => tsneInput.Value;

    /// <summary>
    /// The t-SNE benchmark input: the first <paramref name="count"/> Fashion-MNIST test images, flattened and reduced by
    /// PCA to <paramref name="dimensions"/>, with their labels (scikit-learn's Barnes-Hut TSNE takes 24 s on 10,000 such
    /// points on the reference machine, final KL 1.50).
    /// </summary>
    public static (Tensor Features, long[] Labels) TsneInput(int count = 10_000, int dimensions = 50)
    {
        using var data = FashionMnist.Load(FashionMnist.Split.Test, count);
        using var flat = data.Images.reshape(data.Count, -1);
        var features = PrincipalComponents.Project(flat, dimensions);
        using var labels = data.Labels.to_type(ScalarType.Int64).cpu();
        return (features, labels.data<long>().ToArray());
    }

    public void Dispose()
    {
        Fashion.Dispose();
        ResNet.Dispose();
        Trunk.Dispose();
        Hog.Dispose();
        foreach (var t in new[] { Garments, GarmentLabels, Cat, FirstGarment, FirstGarmentBatch, FirstFourGarments, FirstLabel, CatImage, GarmentMaps })
            t.Dispose();
        if (tsneInput.IsValueCreated)
            tsneInput.Value.Dispose();
    }
}
