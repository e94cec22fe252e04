using static TorchSharp.torch;

namespace WhatNetworksLearn.Attribution;

/// <summary>How the attributions of the colour channels of a pixel become one value for that pixel.</summary>
public enum ChannelReduction
{
    /// <summary>The largest magnitude over the channels (Simonyan et al.'s saliency maps).</summary>
    Max,
    /// <summary>The sum of the magnitudes over the channels.</summary>
    Sum,
}

/// <summary>Turning attributions (N x C x H x W, signed) into what a figure shows.</summary>
public static class Attributions
{
    /// <summary>
    /// One non-negative value per pixel (N x H x W) from signed attributions N x C x H x W: the magnitudes of a pixel's
    /// channels combined by <paramref name="reduction"/>. A class saliency map is this of the class score's gradient
    /// (<see cref="UnitGradient"/> with <see cref="ReluBackward.Backprop"/>), notebook 07.
    /// </summary>
    public static Tensor PerPixel(Tensor attributions, ChannelReduction reduction = ChannelReduction.Max)
    {
        if (attributions.dim() != 4)
            throw new ArgumentException($"Expected attributions N x C x H x W, shaped like the images they explain; got [{string.Join(", ", attributions.shape)}].", nameof(attributions));
        using var scope = NewDisposeScope();
        var magnitude = attributions.abs();
        var map = reduction switch
        {
            ChannelReduction.Max => magnitude.amax(1),
            ChannelReduction.Sum => magnitude.sum(1),
            _ => throw new ArgumentOutOfRangeException(nameof(reduction), $"Unknown channel reduction {reduction}."),
        };
        return map.MoveToOuterDisposeScope();
    }
}
