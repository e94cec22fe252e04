using static TorchSharp.torch;

namespace WhatNetworksLearn.Models;

/// <summary>
/// The kit's one contract on pixel values: every technique takes pixels in [0,1]. The most common student mistake is
/// an image from another library in bytes (0 to 255): a network fed those answers with confidence and every map
/// looks like a map, so the kit refuses them at its entry points (<see cref="VisionModel.CheckInput"/> and
/// <see cref="Data.Images.Prepare"/> call <see cref="Check"/>) with a message that says what to do.
/// </summary>
public static class PixelRange
{
    /// <summary>How far outside [0,1] a pixel may lie and still be taken (rounding in resizing and colour conversion).</summary>
    public const double Tolerance = 1e-3;

    static readonly AsyncLocal<bool> outOfRangeAllowed = new();

    /// <summary>Refuses pixels outside [0,1] (beyond <see cref="Tolerance"/>), naming the range found and the fix.</summary>
    public static void Check(Tensor pixels, string who, string parameterName)
    {
        if (outOfRangeAllowed.Value || pixels.numel() == 0)
            return;
        using var scope = NewDisposeScope();   // the reductions' temporaries
        double low = pixels.min().to_type(ScalarType.Float64).item<double>(), high = pixels.max().to_type(ScalarType.Float64).item<double>();
        if (low >= -Tolerance && high <= 1 + Tolerance)
            return;
        var fix = high > 2
            ? "They look like bytes (0 to 255): divide by 255 first."
            : "Rescale them to [0,1] (for example (x - x.min()) / (x.max() - x.min())) or clamp them with x.clamp(0, 1).";
        throw new ArgumentException($"{who} expects pixels in [0,1]; these run from {low:G4} to {high:G4}. {fix}", parameterName);
    }

    /// <summary>
    /// Inside the returned scope <see cref="Check"/> lets pixels leave [0,1]: for images a method makes itself on the
    /// way, after it checked the ones it was given. SmoothGrad's noisy copies (Gaussian noise without clipping, as in
    /// its paper) and the synthesis loop's images between steps are such images.
    /// </summary>
    internal static IDisposable AllowOutOfRange()
    {
        bool before = outOfRangeAllowed.Value;
        outOfRangeAllowed.Value = true;
        return new Restore(() => outOfRangeAllowed.Value = before);
    }

    sealed class Restore(Action action) : IDisposable
    {
        public void Dispose() => action();
    }
}
