using TorchSharp.PyBridge;
using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace NotebookRunner;

/// <summary>
/// Stand-ins for the ImageNet classifiers' weights, which cannot be had on a machine without internet: PyTorch-format
/// state dicts of the TorchVision architectures with random (seeded) weights. Handed to notebooks through
/// <see cref="ImageNetClassifier.StandInVariable"/>, so that every ImageNet branch runs headless; the kit then announces
/// on screen that the figures are meaningless.
/// </summary>
public static class StandInWeights
{
    /// <summary>The seed of the random weights, so that stand-in runs repeat exactly.</summary>
    public const int Seed = 1;

    /// <summary>Writes <c>name.pth</c> for each architecture into <paramref name="folder"/> (once) and returns the folder.</summary>
    public static string Create(string folder, params string[] names)
    {
        Directory.CreateDirectory(folder);
        foreach (var name in names.Length == 0 ? ["resnet18"] : names)
        {
            var path = Path.Combine(folder, name + ".pth");
            if (File.Exists(path))
                continue;
            manual_seed(Seed);
            using var network = TorchVisionModels.Find(name).Create();
            var temporary = path + ".part";
            network.save_py(temporary);
            File.Move(temporary, path, overwrite: true);
        }
        return folder;
    }

    /// <summary>The environment a notebook kernel needs to use the stand-ins in <paramref name="folder"/>.</summary>
    public static Dictionary<string, string> Environment(string folder) => new() { [ImageNetClassifier.StandInVariable] = Path.GetFullPath(folder) };
}
