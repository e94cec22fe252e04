using static TorchSharp.torch;

namespace WhatNetworksLearn.Models;

/// <summary>Where a model's weights come from.</summary>
public enum WeightsSource
{
    /// <summary>Shipped with the kit in data/models/.</summary>
    Shipped,
    /// <summary>Comes with a NuGet package the kit references; works offline.</summary>
    Package,
    /// <summary>Downloaded once on first use into the user cache.</summary>
    Download,
}

/// <summary>One entry of the registry.</summary>
public sealed record ModelInfo(string Name, string Description, WeightsSource Source, int Classes, string Input);

/// <summary>
/// Every network the kit can load, by name. Each loads as a <see cref="VisionModel"/> that takes pixels in [0,1].
/// </summary>
public static class ModelRegistry
{
    public static IReadOnlyList<ModelInfo> Models { get; } =
    [
        new(FashionCnn.Name, "Small CNN trained by the kit on Fashion-MNIST", WeightsSource.Shipped, 10, "1 x 28 x 28"),
        new(FashionCnn.RobustName, "The same CNN adversarially trained by the kit at ε = 0.1", WeightsSource.Shipped, 10, "1 x 28 x 28"),
        new(TrunkName, "ResNet-18 trained on ImageNet, without its classifier (512 features); from ML.NET's ONNX package", WeightsSource.Package, 0, "3 x 224 x 224"),
        .. TorchVisionModels.Architectures.Select(a => new ModelInfo(a.Name, a.Description, WeightsSource.Download, 1000, "3 x 224 x 224")),
    ];

    /// <summary>The registry's name for the ImageNet-trained ResNet-18 trunk (see <see cref="ImageNetTrunk"/>).</summary>
    public const string TrunkName = "resnet18-trunk";

    public static IReadOnlyList<string> Names => Models.Select(m => m.Name).ToList();

    /// <summary>
    /// Loads a model by name on <paramref name="device"/> (default: CUDA when available). An unknown name lists the known ones.
    /// Loading a name again on the same device returns the network already in memory (<see cref="Platform.SharedLoads"/>),
    /// so rerunning a notebook cell costs no memory for it; disposing one holder's model leaves the others' working.
    /// </summary>
    public static VisionModel Load(string name, Device? device = null)
    {
        device ??= Kit.DefaultDevice;
        if (!Names.Contains(name))
            throw new ArgumentException($"Unknown model '{name}'. Known models: {string.Join(", ", Names)}.", nameof(name));
        return VisionModel.Shared($"model {name} on {device.type}:{device.index}", () => LoadNew(name, device));
    }

    static VisionModel LoadNew(string name, Device device) => name switch
    {
        FashionCnn.Name => FashionCnn.Load(device),
        FashionCnn.RobustName => FashionCnn.LoadRobust(device),
        TrunkName => LoadTrunk(device),
        _ => TorchVisionModels.Load(name, device),
    };

    /// <summary>The ResNet-18 trunk as a model: it already normalises its input itself, so the wrapper's normalisation is the identity.</summary>
    static VisionModel LoadTrunk(Device? device) =>
        new(TrunkName, "ResNet-18 trained on ImageNet, without its classifier: 512 features per photo (ML.NET's ONNX package)",
            ImageNetTrunk.Load(device), new InputSpec(3, ImageNetTrunk.InputSize, ImageNetTrunk.InputSize, [0f, 0f, 0f], [1f, 1f, 1f]),
            [], "avgpool", device);
}
