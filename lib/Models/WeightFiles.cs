using static TorchSharp.torch;

namespace WhatNetworksLearn.Models;

/// <summary>Loads weights into a network with errors that say what is wrong with the file and what to do.</summary>
public static class WeightFiles
{
    /// <summary>Loads a TorchSharp weights file (module.save) into <paramref name="network"/>, all parameters required.</summary>
    public static void LoadInto(nn.Module network, string path, string modelName)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"The weights of {modelName} are missing: no file at {Path.GetFullPath(path)}.", path);
        try
        {
            network.load(path, strict: true);
        }
        catch (Exception error) when (error is EndOfStreamException or IOException or ArgumentException or InvalidOperationException or FormatException or InvalidCastException)
        {
            throw new InvalidDataException(
                $"{Path.GetFullPath(path)} is not a complete weights file for {modelName}: it is truncated, corrupt, or made for another architecture ({error.Message}).", error);
        }
    }
}
