using WhatNetworksLearn.Attribution;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

public class MapStatisticsTests
{
    [Fact]
    public void Roughness_is_zero_for_a_flat_map_and_large_for_a_checkerboard()
    {
        using var flat = full(6, 6, 2f);
        Assert.Equal(0, MapStatistics.Roughness(flat));
        // A checkerboard of 0 and 2: every neighbour differs by 2, the mean is 1.
        using var board = (arange(6).unsqueeze(1) + arange(6).unsqueeze(0)).remainder(2).to_type(ScalarType.Float32) * 2;
        Assert.Equal(2, MapStatistics.Roughness(board), 9);
        // A ramp 0, 1, 2 along the rows: horizontal steps of 1, vertical of 0, mean 1.
        using var ramp = arange(3).to_type(ScalarType.Float32).repeat(3, 1);
        Assert.Equal(0.5, MapStatistics.Roughness(ramp), 9);
        using var nothing = zeros(4, 4);
        Assert.True(double.IsNaN(MapStatistics.Roughness(nothing)));
    }

    [Fact]
    public void Zero_fraction_counts_pixels_zero_in_every_channel()
    {
        // Two channels of 2 x 2: pixel (0, 1) is zero in both, pixel (1, 0) only in the first.
        using var map = tensor(new float[] { 1, 0, 0, 2, /* second channel */ 3, 0, -1, 0 }).reshape(2, 2, 2);
        Assert.Equal(0.25, MapStatistics.ZeroFraction(map));
        using var batch = map.unsqueeze(0);
        Assert.Equal(0.25, MapStatistics.ZeroFraction(batch));
        using var zeros_ = zeros(3, 4);
        Assert.Equal(1.0, MapStatistics.ZeroFraction(zeros_));
    }

    [Fact]
    public void Half_mass_share_is_the_fewest_pixels_holding_half_the_magnitude()
    {
        using var even = ones(4, 4);
        Assert.Equal(0.5, MapStatistics.HalfMassShare(even));
        // Magnitudes 3, 1, 0, 0 (signs do not count): the 3 alone holds three quarters.
        using var peaked = tensor(new float[,] { { -3, 0 }, { 0, 1 } });
        Assert.Equal(0.25, MapStatistics.HalfMassShare(peaked));
        // Channels add: pixel magnitudes 2, 2, 1, 1 -> two pixels hold 4 of 6.
        using var colour = tensor(new float[] { 1, 1, 1, 0, /* */ 1, -1, 0, 1 }).reshape(2, 2, 2);
        Assert.Equal(0.5, MapStatistics.HalfMassShare(colour));
        using var none = zeros(2, 2);
        Assert.True(double.IsNaN(MapStatistics.HalfMassShare(none)));
    }

    [Fact]
    public void Correlation_is_one_for_a_scaled_copy_minus_one_for_a_negated_one_and_nan_for_a_constant()
    {
        manual_seed(5);
        using var a = randn(3, 8, 8);
        using var scaled = a * 2 + 1;
        using var negated = -a;
        Assert.Equal(1.0, MapStatistics.Correlation(a, scaled), 9);
        Assert.Equal(-1.0, MapStatistics.Correlation(a, negated), 9);
        using var b = tensor(new float[] { 1, 2, 3, 4 });
        using var c = tensor(new float[] { 1, 3, 2, 4 });
        Assert.Equal(0.8, MapStatistics.Correlation(b, c), 9);   // hand-computed: covariance 4 / variance 5
        using var flat = zeros(3, 8, 8);
        Assert.True(double.IsNaN(MapStatistics.Correlation(a, flat)));
        Assert.Throws<ArgumentException>(() => MapStatistics.Correlation(a, b));
    }

    [Fact]
    public void Share_inside_weighs_soft_masks_and_adds_the_channels()
    {
        // Magnitudes 1, 2, 0, 1 (total 4); a soft mask of 0.5 and 1 over the first row holds 0.5 x 1 + 1 x 2 = 2.5.
        using var map = tensor(new float[,] { { 1, -2 }, { 0, 1 } });
        using var soft = tensor(new float[,] { { 0.5f, 1 }, { 0, 0 } });
        Assert.Equal(0.625, MapStatistics.ShareInside(map, soft), 9);
        // Two channels: pixel magnitudes 1 + 3 = 4, 0, 0, 0 + 4 = 4; the diagonal holds all 8.
        using var colour = tensor(new float[] { 1, 0, 0, 0, /* second channel */ -3, 0, 0, 4 }).reshape(2, 2, 2);
        using var diagonal = eye(2);
        Assert.Equal(1.0, MapStatistics.ShareInside(colour, diagonal), 9);
        // Disjoint masks that cover the image share the whole map between them.
        using var offDiagonal = 1 - diagonal;
        Assert.Equal(1.0, MapStatistics.ShareInside(map, diagonal) + MapStatistics.ShareInside(map, offDiagonal), 9);
    }

    [Fact]
    public void Pooled_share_counts_each_map_by_its_total()
    {
        // Map a (total 1) lies wholly inside its mask; map b (total 4) has 1 of its 4 inside: pooled (1 + 1) / (1 + 4) = 0.4,
        // where the mean of the two shares would be (1 + 0.25) / 2.
        using var a = tensor(new float[,] { { 1, 0 }, { 0, 0 } });
        using var b = tensor(new float[,] { { 0, -3 }, { 1, 0 } });
        using var top = tensor(new float[,] { { 1, 1 }, { 0, 0 } });
        using var bottom = 1 - top;
        Assert.Equal(0.4, MapStatistics.PooledShareInside([a, b], [top, bottom]), 9);
        // One map alone is its own share; a map that is zero everywhere adds nothing.
        using var nothing = zeros(2, 2);
        Assert.Equal(MapStatistics.ShareInside(b, bottom), MapStatistics.PooledShareInside([b, nothing], [bottom, top]), 9);
        Assert.True(double.IsNaN(MapStatistics.PooledShareInside([nothing], [top])));
        Assert.Throws<ArgumentException>(() => MapStatistics.PooledShareInside([a, b], [top]));
    }
}
