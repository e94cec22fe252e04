using static TorchSharp.torch;

namespace WhatNetworksLearn.Rendering;

/// <summary>Colour scales for maps of one value per pixel. Each is a formula, so no table needs to ship.</summary>
public enum Colormap
{
    /// <summary>Blue through cyan, yellow to red: the usual saliency heat map.</summary>
    Jet,
    /// <summary>Black through red and yellow to white: strength only.</summary>
    Hot,
    /// <summary>Blue for negative, white for zero, red for positive: for signed values such as weights and gradients.</summary>
    Diverging,
    /// <summary>Black to white.</summary>
    Grey,
}

public static class Colormaps
{
    /// <summary>
    /// Colours an H x W map (values in [0,1]; for <see cref="Colormap.Diverging"/>, in [-1,1]) as a 3 x H x W image.
    /// </summary>
    public static Tensor Apply(Tensor map, Colormap colormap)
    {
        if (map.dim() != 2)
            throw new ArgumentException($"Expected a map shaped H x W; got [{string.Join(", ", map.shape)}].", nameof(map));
        using var scope = NewDisposeScope();
        var x = map.to_type(ScalarType.Float32);
        Tensor[] channels = colormap switch
        {
            Colormap.Jet => [Ramp(1.5f - (4 * x - 3).abs()), Ramp(1.5f - (4 * x - 2).abs()), Ramp(1.5f - (4 * x - 1).abs())],
            Colormap.Hot => [Ramp(3 * x), Ramp(3 * x - 1), Ramp(3 * x - 2)],
            Colormap.Diverging => [Ramp(1 + x.clamp(max: 0)), Ramp(1 - x.abs()), Ramp(1 - x.clamp(min: 0))],
            Colormap.Grey => [Ramp(x), Ramp(x), Ramp(x)],
            _ => throw new ArgumentOutOfRangeException(nameof(colormap)),
        };
        return stack(channels).MoveToOuterDisposeScope();
    }

    static Tensor Ramp(Tensor t) => t.clamp(0, 1);
}
