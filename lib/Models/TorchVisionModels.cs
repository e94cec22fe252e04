using TorchSharp;
using TorchSharp.PyBridge;
using WhatNetworksLearn.Data;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Models;

/// <summary>
/// ImageNet classifiers from TorchVision (.NET) with the official PyTorch weights, for users who are online.
/// The first use downloads the weights once into the user cache (checked against the SHA-256 prefix that
/// PyTorch puts in each file name); offline, the error names the URL and the exact path to place the file at.
/// </summary>
public static class TorchVisionModels
{
    /// <summary>A known architecture: how to build it, where its official weights are, which layer is its embedding.</summary>
    public sealed record Architecture(string Name, string WeightsFile, Func<nn.Module<Tensor, Tensor>> Create, string EmbeddingLayer, string Description)
    {
        public Uri WeightsUrl => new("https://download.pytorch.org/models/" + WeightsFile);
        /// <summary>The hexadecimal SHA-256 prefix in the file name (as in resnet18-f37072fd.pth).</summary>
        public string Sha256Prefix => WeightsFile.Split('-')[^1].Split('.')[0];
        public string CachePath => Path.Combine(Downloads.CacheFolder, "torchvision", WeightsFile);
    }

    /// <summary>ImageNet's pixel statistics, which these networks were trained with.</summary>
    public static readonly InputSpec Input = new(3, 224, 224, [0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);

    public static IReadOnlyList<Architecture> Architectures { get; } =
    [
        new("resnet18", "resnet18-f37072fd.pth", () => torchvision.models.resnet18(), "avgpool", "ResNet-18 (TorchVision), ImageNet weights"),
        new("vgg16", "vgg16-397923af.pth", () => torchvision.models.vgg16(), "classifier.4", "VGG-16 (TorchVision), ImageNet weights"),
        new("alexnet", "alexnet-owt-7be5be79.pth", () => torchvision.models.alexnet(), "classifier.5", "AlexNet (TorchVision), ImageNet weights"),
    ];

    public static Architecture Find(string name) =>
        Architectures.FirstOrDefault(a => a.Name == name)
        ?? throw new ArgumentException($"Unknown TorchVision model '{name}'. Known: {string.Join(", ", Architectures.Select(a => a.Name))}.", nameof(name));

    /// <summary>
    /// The classifier with its official weights: from <paramref name="weightsPath"/> when given (a PyTorch
    /// state-dict file, used as is), else from the cache, downloading it there first if allowed.
    /// </summary>
    public static VisionModel Load(string name, Device? device = null, string? weightsPath = null, bool allowDownload = true)
    {
        var architecture = Find(name);
        weightsPath ??= CachedWeights(architecture, allowDownload);
        var network = architecture.Create();
        if (!File.Exists(weightsPath))
            throw new FileNotFoundException($"The weights of {name} are missing: no file at {weightsPath}.", weightsPath);
        try
        {
            network.load_py(weightsPath, strict: true);
        }
        catch (Exception error) when (error is not OutOfMemoryException)
        {
            throw new InvalidDataException(
                $"{weightsPath} is not a complete PyTorch weights file for {name}: it is truncated, corrupt, or made for another architecture ({error.Message}).", error);
        }
        return new VisionModel(name, architecture.Description, network, Input, ImageNetClasses.Names, architecture.EmbeddingLayer, device);
    }

    /// <summary>The architecture with random weights (seed it with torch.manual_seed): for tests, and for seeing what training changes.</summary>
    public static VisionModel CreateUntrained(string name, Device? device = null)
    {
        var architecture = Find(name);
        return new VisionModel(name, architecture.Description.Replace("ImageNet weights", "random weights"), architecture.Create(),
            Input, ImageNetClasses.Names, architecture.EmbeddingLayer, device);
    }

    static string CachedWeights(Architecture architecture, bool allowDownload)
    {
        var path = architecture.CachePath;
        if (File.Exists(path))
            return CheckPrefix(architecture, path);
        if (!allowDownload)
            throw new FileNotFoundException(
                $"The weights of {architecture.Name} are not in the cache. Download {architecture.WeightsUrl} and place the file at {path}.", path);
        Downloads.Fetch(architecture.WeightsUrl, path, file => Downloads.Sha256(file).StartsWith(architecture.Sha256Prefix, StringComparison.Ordinal));
        return path;
    }

    static string CheckPrefix(Architecture architecture, string path)
    {
        var actual = Downloads.Sha256(path);
        if (!actual.StartsWith(architecture.Sha256Prefix, StringComparison.Ordinal))
            throw new InvalidDataException(
                $"Checksum mismatch for {path}: its SHA-256 is {actual}, but the official {architecture.WeightsFile} starts with {architecture.Sha256Prefix}. " +
                $"Delete the file and download it again from {architecture.WeightsUrl}.");
        return path;
    }
}
