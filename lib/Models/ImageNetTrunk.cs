using TorchSharp;
using WhatNetworksLearn.Models.Onnx;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Models;

/// <summary>
/// The ImageNet-trained ResNet-18 trunk that ML.NET ships as ONNX (NuGet package
/// Microsoft.ML.DnnImageFeaturizer.ResNet18), imported into TorchSharp so that the lecture's techniques can
/// hook its layers and take gradients down to the pixels. No Python, no download at run time: the package
/// comes with lib's build.
/// </summary>
/// <remarks>
/// <para>The module (<see cref="ResNet18Trunk"/>) takes pixels in [0,1], N x 3 x 224 x 224 in RGB order, and returns
/// the N x 512 pooled features. Its first layer, preprocess, is the package's own preprocessing graph
/// (ResNetPreprocess.onnx: RGB to BGR, minus a mean image), preceded by the scaling to 0..255 that ML.NET's pixel
/// extraction applies. Then come the trunk's layers, conv1 … layer4.2.relu2, avgpool, and flatten.</para>
/// <para>This CNTK export is not torchvision's ResNet-18: its layer4 has three blocks (torchvision's has two),
/// so it has 22 convolutions, 22 batch normalisations and 19 ReLUs. It has no classifier: the 512 features are
/// what ML.NET feeds its own trainers.</para>
/// </remarks>
public static class ImageNetTrunk
{
    /// <summary>The side of the square images the trunk takes.</summary>
    public const int InputSize = ResNet18Trunk.InputSize;

    /// <summary>The number of features per image.</summary>
    public const int FeatureCount = 512;

    /// <summary>The NuGet package that provides the ONNX files.</summary>
    public const string PackageId = "Microsoft.ML.DnnImageFeaturizer.ResNet18";

    /// <summary>The package version lib references.</summary>
    public const string PackageVersion = "0.23.1";

    /// <summary>The trunk's ONNX file (found beside lib, or in the NuGet cache).</summary>
    public static string TrunkPath => Find("ResNet18Onnx", "ResNet18.onnx");

    /// <summary>The input normalisation's ONNX file (found beside lib, or in the NuGet cache).</summary>
    public static string PreprocessingPath => Find("ResNetPrepOnnx", "ResNetPreprocess.onnx");

    /// <summary>
    /// Loads the trunk, with its preprocessing as its first layer, in evaluation mode, on <paramref name="device"/>
    /// (default: the CPU). Takes a second or two. A missing file is a <see cref="FileNotFoundException"/> that
    /// says how to restore it; a damaged one an <see cref="InvalidDataException"/> that names it.
    /// </summary>
    public static ResNet18Trunk Load(Device? device = null)
    {
        var module = ResNet18Trunk.Load(PreprocessingPath, TrunkPath);
        if (device is not null && device.type != DeviceType.CPU)
            module.to(device);
        return module;
    }

    /// <summary>Looks for one of the package's files beside lib's assembly, then in the NuGet packages folder.</summary>
    static string Find(string folder, string file)
    {
        var candidates = new List<string>();
        void Beside(string? directory)
        {
            if (!string.IsNullOrEmpty(directory))
                candidates.Add(Path.Combine(directory, "DnnImageModels", folder, file));
        }
        Beside(AppContext.BaseDirectory);
        Beside(Path.GetDirectoryName(typeof(ImageNetTrunk).Assembly.Location));
        foreach (var packages in NuGetFolders())
        {
            var package = Path.Combine(packages, PackageId.ToLowerInvariant());
            candidates.Add(Path.Combine(package, PackageVersion, "tools", "DnnImageModels", folder, file));
            if (Directory.Exists(package))
                foreach (var version in Directory.GetDirectories(package).OrderDescending())
                    candidates.Add(Path.Combine(version, "tools", "DnnImageModels", folder, file));
        }
        foreach (var candidate in candidates.Distinct())
            if (File.Exists(candidate))
                return candidate;
        throw new FileNotFoundException(
            $"{file} is missing. It ships in the NuGet package {PackageId} {PackageVersion}, which lib references: " +
            $"run `dotnet build lib` in the kit's folder to restore it (the build copies it to lib/bin/DnnImageModels/). " +
            $"Looked in: {string.Join("; ", candidates.Distinct())}.", file);
    }

    static IEnumerable<string> NuGetFolders()
    {
        if (Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured)
            yield return configured;
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (home.Length > 0)
            yield return Path.Combine(home, ".nuget", "packages");
    }
}
