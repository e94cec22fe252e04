namespace WhatNetworksLearn.Models;

/// <summary>The 1,000 ImageNet class names, in the output order of TorchVision's classifiers (data/imagenet/).</summary>
public static class ImageNetClasses
{
    public const int Ostrich = 9;
    public const int Tabby = 281;
    public const int Toaster = 859;

    /// <summary>True for ImageNet's five domestic cats (281 tabby to 285 Egyptian cat): the right answers for the kit's cat photo.</summary>
    public static bool IsDomesticCat(int index) => index is >= Tabby and <= 285;

    static readonly Lazy<IReadOnlyList<string>> names = new(() =>
    {
        var path = Kit.DataPath("imagenet", "classes.txt");
        var lines = File.ReadAllLines(path).Where(l => l.Length > 0).ToList();
        if (lines.Count != 1000)
            throw new InvalidDataException($"{path} should list 1000 class names, one per line; it has {lines.Count}.");
        return lines;
    });

    public static IReadOnlyList<string> Names => names.Value;
}
