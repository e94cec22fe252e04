using WhatNetworksLearn.Data;
using WhatNetworksLearn.Notebook;
using WhatNetworksLearn.Platform;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Models;

/// <summary>
/// The one decision every notebook with an ImageNet figure makes: draw it on the ImageNet classifier when its verified
/// official weights are in the cache, and otherwise show only the offline version, with one line saying how to get
/// the weights. Nothing is ever downloaded here: <c>./environment/fetch-models.sh</c> does that, before class.
/// </summary>
public static class ImageNetClassifier
{
    /// <summary>The command that fetches the weights into the cache.</summary>
    public const string FetchCommand = "./environment/fetch-models.sh";

    /// <summary>
    /// The test setting: an environment variable naming a folder of stand-in state dicts (<c>resnet18.pth</c>, random
    /// weights made by the tests). When it is set, <see cref="FromCache(string, Device?)"/> loads the stand-in instead, so that tests run
    /// every ImageNet branch, and announces on screen that the figures are meaningless.
    /// </summary>
    public const string StandInVariable = "KIT_STAND_IN_WEIGHTS";

    /// <summary>
    /// The ImageNet classifier <paramref name="name"/> (resnet18, vgg16 or alexnet) with the official weights from the
    /// cache, checked against their SHA-256; or null when they are not there (or damaged), after a displayed line that
    /// says what to do. Under the test setting <see cref="StandInVariable"/>, the stand-in, announced as such.
    /// </summary>
    public static VisionModel? FromCache(string name = "resnet18", Device? device = null) =>
        FromCache(TorchVisionModels.Find(name), Downloads.CacheFolder, Environment.GetEnvironmentVariable(StandInVariable), device, note => note.Show());

    internal static VisionModel? FromCache(TorchVisionModels.Architecture architecture, string cacheFolder, string? standInFolder, Device? device, Action<Note> show)
    {
        if (!string.IsNullOrWhiteSpace(standInFolder))
        {
            var standIn = Path.Combine(standInFolder, architecture.Name + ".pth");
            var model = Shared(architecture, standIn, $"{architecture.Description.Replace("ImageNet weights", "")}STAND-IN random weights", device, standIn: true);
            show(new Note($"Stand-in weights: the figures are meaningless. {architecture.Name} has random weights from {standIn}, because the test setting " +
                          $"{StandInVariable} is set. For the real figures, unset it and run {FetchCommand} {architecture.Name}.", NoteKind.Warning));
            return model;
        }
        var path = architecture.CachePathIn(cacheFolder);
        if (!File.Exists(path))
        {
            show(new Note($"The ImageNet version of this figure needs the official weights of {architecture.Name}, which are not in the cache ({path}). " +
                          $"Run {FetchCommand} {architecture.Name} once while online, then run the notebook again; until then it shows the offline version only."));
            return null;
        }
        try
        {
            return Shared(architecture, TorchVisionModels.Verified(architecture, path), architecture.Description, device);
        }
        catch (InvalidDataException damaged)
        {
            show(new Note(damaged.Message + " Until then the notebook shows the offline version only.", NoteKind.Warning));
            return null;
        }
    }

    /// <summary>
    /// The network from <paramref name="path"/>, loaded once per process and device (<see cref="SharedLoads"/>), so that
    /// rerunning a notebook cell costs no memory for it.
    /// </summary>
    static VisionModel Shared(TorchVisionModels.Architecture architecture, string path, string description, Device? device, bool standIn = false)
    {
        device ??= Kit.DefaultDevice;
        return VisionModel.Shared($"imagenet {architecture.Name} from {SharedLoads.FileKey(path)} on {device.type}:{device.index}",
            () => TorchVisionModels.Load(architecture, path, description, device, standIn));
    }
}
