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
    /// <summary>
    /// Spearman's rank correlation of two maps per image: <paramref name="a"/> and <paramref name="b"/> are N x … (one
    /// map per image, any shape after the first dimension), the result is N values in [−1, 1]. Only the pixels where
    /// either map is non-zero take part: where both are exactly 0 (the background of a guided-backpropagation,
    /// Integrated Gradients or edge map, often half the image) the two maps agree only because neither says anything,
    /// and counting those shared ties would push ρ towards 1. On the pixels that take part, each map's values are
    /// replaced by their ranks, tied values sharing the mean of their ranks, and the ranks are correlated (Pearson).
    /// Only the order of the values matters, not their scale. A map that is constant on those pixels (or two maps
    /// that are 0 everywhere) has no order: its correlation is 0. Notebooks 17 and 18.
    /// </summary>
    public static Tensor RankCorrelation(Tensor a, Tensor b)
    {
        if (a.dim() < 2 || !a.shape.SequenceEqual(b.shape))
            throw new ArgumentException($"Expected two batches of maps of one shape N x H x W; got [{string.Join(", ", a.shape)}] and [{string.Join(", ", b.shape)}].", nameof(b));
        using var scope = NewDisposeScope();
        var rowsA = a.detach().cpu().flatten(1).to_type(ScalarType.Float64);
        var rowsB = b.detach().cpu().flatten(1).to_type(ScalarType.Float64);
        var taking = rowsA.ne(0).logical_or(rowsB.ne(0));                      // N x P: the pixels that take part
        var count = taking.sum(1, keepdim: true).to_type(ScalarType.Float64);  // N x 1
        var weight = taking.to_type(ScalarType.Float64);
        // Pixels left out become +∞: they sort after every value that takes part, so those keep the ranks 0 … count − 1
        // they have among themselves; their mean rank is (count − 1) / 2, and the left-out ones are zeroed after centring.
        Tensor Centred(Tensor rows) => (Ranks(where(taking, rows, full_like(rows, double.PositiveInfinity))) - (count - 1) / 2) * weight;
        var ra = Centred(rowsA);
        var rb = Centred(rowsB);
        var spread = ((ra * ra).sum(1) * (rb * rb).sum(1)).sqrt();
        var correlation = (ra * rb).sum(1) / spread.clamp_min(1e-300);
        return where(spread.gt(0), correlation, zeros_like(correlation)).to_type(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <summary>The rank of each value in its row, from 0, ties sharing the mean of their ranks (float64).</summary>
    static Tensor Ranks(Tensor rows)
    {
        var values = rows.to_type(ScalarType.Float64).contiguous();   // +∞ allowed: it ranks after every finite value
        var sorted = values.sort(1).Values.contiguous();
        var below = searchsorted(sorted, values, right: false).to_type(ScalarType.Float64);   // values smaller than this one
        var upTo = searchsorted(sorted, values, right: true).to_type(ScalarType.Float64);     // values not larger
        return (below + upTo - 1) / 2;
    }
}
