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
        if (Sigma <= 0 || Every < 1)
            throw new ArgumentOutOfRangeException(nameof(Sigma), $"Blur needs a positive sigma and a period of at least 1 step; got sigma {Sigma}, every {Every}.");
        if ((step + 1) % Every != 0)
            return;
        using var scope = NewDisposeScope();
        parameters.copy_(Gaussian(parameters, Sigma));
    }

    /// <summary>The images (N x C x H x W) blurred with a separable Gaussian, each channel on its own.</summary>
    static Tensor Gaussian(Tensor images, double sigma)
    {
        long channels = images.shape[1];
        int radius = Math.Max(1, (int)Math.Ceiling(3 * sigma));
        radius = (int)Math.Min(radius, Math.Min(images.shape[2], images.shape[3]) - 1);   // reflection needs the image to be wider than the padding
        if (radius < 1)
            return images.clone();
        var offsets = arange(-radius, radius + 1, ScalarType.Float32, images.device);
        var kernel = (-(offsets.square()) / (2 * sigma * sigma)).exp();
        kernel = kernel / kernel.sum();
        var horizontal = kernel.reshape(1, 1, 1, -1).expand(channels, 1, 1, -1);
        var vertical = kernel.reshape(1, 1, -1, 1).expand(channels, 1, -1, 1);
        var padded = nn.functional.pad(images, [radius, radius, radius, radius], PaddingModes.Reflect);
        return nn.functional.conv2d(nn.functional.conv2d(padded, horizontal, groups: channels), vertical, groups: channels);
    }
}
