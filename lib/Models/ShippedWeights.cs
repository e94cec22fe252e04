using System.Text.Json;
using System.Text.Json.Serialization;

namespace WhatNetworksLearn.Models;

/// <summary>One epoch of the training record kept in a model's manifest.</summary>
/// <param name="Epoch">Its number, from 1.</param>
/// <param name="TrainLoss">Mean loss on the training batches as trained (attacked batches in adversarial training).</param>
/// <param name="TrainAccuracy">Accuracy on those batches.</param>
/// <param name="TestAccuracy">Accuracy on the 10,000 test images after the epoch.</param>
/// <param name="Seconds">The epoch's wall time.</param>
/// <param name="RobustAccuracy">Adversarial training only: accuracy under PGD-10 on the first held-out test images.</param>
public sealed record EpochRecord(int Epoch, double TrainLoss, double TrainAccuracy, double TestAccuracy, double Seconds, double? RobustAccuracy = null);

/// <summary>
/// How an adversarially trained model was trained and how robust it is: the training budget and start, and the
/// accuracy under attack on all test images, measured by the evaluation command it names.
/// </summary>
public sealed record RobustnessRecord(double Epsilon, string Training, string? StartFrom, int KeptEpoch,
    double? RobustAccuracy = null, string? Evaluation = null);

/// <summary>
/// The manifest that ships beside a model's weights in data/models/: what the file is, how it was made,
/// how good it is. Loading checks the file against <see cref="Sha256"/>.
/// </summary>
public sealed record ModelManifest(
    string Name, string File, string Sha256, long Bytes, double TestAccuracy, int TestImages, int Epochs, int Seed,
    int BatchSize, double LearningRate, string Command, double TrainingSeconds, string Machine, string TorchSharp,
    IReadOnlyList<EpochRecord> History, RobustnessRecord? Robustness = null)
{
    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static ModelManifest Read(string path) =>
        JsonSerializer.Deserialize<ModelManifest>(System.IO.File.ReadAllText(path), Json)
        ?? throw new InvalidDataException($"{path} is not a model manifest.");

    public void Write(string path) => System.IO.File.WriteAllText(path, JsonSerializer.Serialize(this, Json) + "\n");
}

/// <summary>Finds the weights the kit ships (data/models/) and checks them against their manifest.</summary>
public static class ShippedWeights
{
    public static string Folder => Kit.DataPath("models");

    public static ModelManifest Manifest(string name)
    {
        var path = Path.Combine(Folder, name + ".json");
        if (!File.Exists(path))
            throw new FileNotFoundException($"No manifest for the shipped model '{name}' at {path}.", path);
        return ModelManifest.Read(path);
    }

    /// <summary>The path of a shipped model's weights, after checking that the file is the one the manifest describes.</summary>
    public static string Locate(string name)
    {
        var manifest = Manifest(name);
        var path = Path.Combine(Folder, manifest.File);
        return Verify(path, manifest.Sha256, $"Restore it with `git checkout -- data/models/{manifest.File}`, or train it again: {manifest.Command}");
    }

    /// <summary>Checks that a file exists and has the expected SHA-256; returns its path.</summary>
    public static string Verify(string path, string expectedSha256, string advice)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"The weights file {path} is missing. {advice}", path);
        var actual = Data.Downloads.Sha256(path);
        if (!string.Equals(actual, expectedSha256, StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException($"Checksum mismatch for {path}: expected SHA-256 {expectedSha256}, found {actual}. The file is damaged or was replaced. {advice}");
        return path;
    }
}
