using TorchSharp;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Synthesis;

/// <summary>
/// A change made to the optimised tensor between two steps, outside the gradient: it keeps the image valid (clamping)
/// or natural-looking (blurring away the high frequencies that gradient ascent piles up). Called without gradients;
/// works in place.
/// </summary>
public interface IRegularizer
{
    /// <param name="parameters">The tensor the loop optimises (for <see cref="PixelImage"/>, the pixels).</param>
    /// <param name="step">The step just taken, counted from 0.</param>
    void Apply(Tensor parameters, int step);
}

/// <summary>Keeps every value in [<paramref name="Min"/>, <paramref name="Max"/>]: for pixels, the valid range [0,1].</summary>
public sealed record Clamp(double Min = 0, double Max = 1) : IRegularizer
{
    public void Apply(Tensor parameters, int step) => parameters.clamp_(Min, Max);
}

/// <summary>
/// Every <paramref name="Every"/> steps, blurs each image with a Gaussian of <paramref name="Sigma"/> pixels
/// (edges reflected). Gradient ascent alone adds fine, high-frequency patterns; regular blurring removes them
/// faster than the gradient can rebuild them, leaving the coarse structure.
/// </summary>
public sealed record Blur(double Sigma = 0.5, int Every = 4) : IRegularizer
{
    public void Apply(Tensor parameters, int step)
    {
        if (!(Sigma > 0))
            throw new ArgumentOutOfRangeException(nameof(Sigma), $"The blur needs a positive standard deviation in pixels; got {Sigma}.");
        if (Every < 1)
            throw new ArgumentOutOfRangeException(nameof(Every), $"The blur's period must be at least 1 step; got {Every}.");
        if ((step + 1) % Every != 0)
            return;
        using var blurred = ImageFilters.GaussianBlur(parameters, Sigma, PaddingModes.Reflect);
        parameters.copy_(blurred);
    }
}
