using TorchSharp;
using TorchSharp.PyBridge;
using WhatNetworksLearn.Data;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Models;

/// <summary>
/// ImageNet classifiers from TorchVision (.NET) with the official PyTorch weights. The weights are fetched once into the
/// user cache (<c>./environment/fetch-models.sh</c>, or the first <see cref="Load(string, Device?, string?, bool)"/> that may download) and checked
/// against the SHA-256 prefix that PyTorch puts in each file name; offline, the error names the URL and the exact path
/// to place the file at. Notebooks ask <see cref="ImageNetClassifier.FromCache(string, Device?)"/>, which never downloads.
/// </summary>
public static class TorchVisionModels
{
    /// <summary>Where the official weights are published.</summary>
    public const string OfficialSite = "https://download.pytorch.org/models/";

    /// <summary>
    /// An environment variable naming another folder URL that serves the same file names (for example a teacher's
    /// server for a classroom without internet); the SHA-256 check is the same.
    /// </summary>
    public const string MirrorVariable = "KIT_MODEL_MIRROR";

    /// <summary>A known architecture: how to build it, where its official weights are, which layer is its embedding.</summary>
    public sealed record Architecture(string Name, string WeightsFile, Func<nn.Module<Tensor, Tensor>> Create, string EmbeddingLayer, string Description)
    {
        /// <summary>The file's address: on the official site, or on the mirror named by <see cref="MirrorVariable"/>.</summary>
        public Uri WeightsUrl => new(new Uri(Site), WeightsFile);
        /// <summary>The hexadecimal SHA-256 prefix in the file name (as in resnet18-f37072fd.pth).</summary>
        public string Sha256Prefix => WeightsFile.Split('-')[^1].Split('.')[0];
        /// <summary>Where the kit keeps the file: in the user cache (<see cref="Downloads.CacheFolder"/>).</summary>
        public string CachePath => CachePathIn(Downloads.CacheFolder);
        internal string CachePathIn(string cacheFolder) => Path.Combine(cacheFolder, "torchvision", WeightsFile);

        static string Site
        {
            get
            {
                var mirror = Environment.GetEnvironmentVariable(MirrorVariable);
                return string.IsNullOrWhiteSpace(mirror) ? OfficialSite : mirror.EndsWith('/') ? mirror : mirror + "/";
            }
        }
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
        return Load(architecture, weightsPath ?? CachedWeights(architecture, allowDownload), architecture.Description, device);
    }

    /// <summary>
    /// Downloads the official weights of <paramref name="name"/> into the cache, unless a verified copy is there
    /// already, and returns the file's path. <paramref name="progress"/> hears (bytes done, bytes in all).
    /// </summary>
    public static string Fetch(string name, IProgress<(long done, long? total)>? progress = null) =>
        Fetch(Find(name), Find(name).WeightsUrl, Downloads.CacheFolder, progress);

    internal static string Fetch(Architecture architecture, Uri source, string cacheFolder, IProgress<(long done, long? total)>? progress = null) =>
        Downloads.FetchChecked(source, architecture.CachePathIn(cacheFolder), file => PrefixProblem(architecture, file), progress);

    /// <summary>The architecture with random weights (seed it with torch.manual_seed): for tests, and for seeing what training changes.</summary>
    public static VisionModel CreateUntrained(string name, Device? device = null)
    {
        var architecture = Find(name);
        return new VisionModel(name, architecture.Description.Replace("ImageNet weights", "random weights"), architecture.Create(),
            Input, ImageNetClasses.Names, architecture.EmbeddingLayer, device);
    }

    /// <summary>The network of <paramref name="architecture"/> with the state dict at <paramref name="weightsPath"/>, described as <paramref name="description"/>.</summary>
    internal static VisionModel Load(Architecture architecture, string weightsPath, string description, Device? device, bool standIn = false)
    {
        if (!File.Exists(weightsPath))
            throw new FileNotFoundException($"The weights of {architecture.Name} are missing: no file at {weightsPath}.", weightsPath);
        var network = architecture.Create();
        try
        {
            network.load_py(weightsPath, strict: true);
        }
        catch (Exception error) when (error is not OutOfMemoryException)
        {
            network.Dispose();
            throw new InvalidDataException(
                $"{weightsPath} is not a complete PyTorch weights file for {architecture.Name}: it is truncated, corrupt, or made for another architecture ({error.Message}).", error);
        }
        return new VisionModel(architecture.Name, description, network, Input, ImageNetClasses.Names, architecture.EmbeddingLayer, device)
            { HasStandInWeights = standIn };
    }

    /// <summary>The cached weights, checked; downloaded first when missing and allowed.</summary>
    static string CachedWeights(Architecture architecture, bool allowDownload)
    {
        var path = architecture.CachePath;
        if (File.Exists(path))
            return Verified(architecture, path);
        if (!allowDownload)
            throw new FileNotFoundException(
                $"The weights of {architecture.Name} are not in the cache. Run ./environment/fetch-models.sh {architecture.Name}, or download {architecture.WeightsUrl} and place the file at {path}.", path);
        return Fetch(architecture, architecture.WeightsUrl, Downloads.CacheFolder);
    }

    /// <summary>The path, after checking that the file's SHA-256 starts with the prefix in the official file name.</summary>
    internal static string Verified(Architecture architecture, string path) =>
        PrefixProblem(architecture, path) is string problem
            ? throw new InvalidDataException($"{problem}. Delete {path} and run ./environment/fetch-models.sh {architecture.Name} again (or download {architecture.WeightsUrl}).")
            : path;

    static string? PrefixProblem(Architecture architecture, string path)
    {
        var actual = Downloads.Sha256(path);
        return actual.StartsWith(architecture.Sha256Prefix, StringComparison.Ordinal) ? null
            : $"Checksum mismatch for {path}: its SHA-256 is {actual}, but the official {architecture.WeightsFile} starts with {architecture.Sha256Prefix}";
    }
}
