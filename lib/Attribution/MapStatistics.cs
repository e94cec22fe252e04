using static TorchSharp.torch;

namespace WhatNetworksLearn.Attribution;

/// <summary>
/// Numbers that say how attribution maps differ, to print beside a figure so that what it shows is measured, not
/// only seen (notebook 06 compares the three ReLU backward rules with them). A map is H x W, C x H x W or
/// 1 x C x H x W; a pixel's magnitude is the sum of the absolute values of its channels.
/// </summary>
public static class MapStatistics
{
    /// <summary>The fraction of pixels that are exactly zero in every channel (where a rule passed nothing back).</summary>
    public static double ZeroFraction(Tensor map)
    {
        using var scope = NewDisposeScope();
        return Magnitudes(map).eq(0).to_type(ScalarType.Float64).mean().item<double>();
    }

    /// <summary>
    /// The smallest fraction of the pixels that together hold half of the map's total magnitude: near 0 when a few
    /// pixels carry the map, 0.5 when every pixel carries the same. NaN for a map that is zero everywhere.
    /// </summary>
    public static double HalfMassShare(Tensor map)
    {
        using var scope = NewDisposeScope();
        var sorted = Magnitudes(map).flatten().to_type(ScalarType.Float64).sort().Values.flip(0);
        double total = sorted.sum().item<double>();
        if (total == 0)
            return double.NaN;
        long needed = (sorted.cumsum(0) / total).lt(0.5).sum().item<long>() + 1;
        return (double)needed / sorted.shape[0];
    }

    /// <summary>
    /// Pearson's correlation of two maps of the same shape over all their values, signs included: 1 when one is the
    /// other scaled, 0 when they are unrelated. NaN when either map is constant (for example zero everywhere).
    /// </summary>
    public static double Correlation(Tensor a, Tensor b)
    {
        if (!a.shape.SequenceEqual(b.shape))
            throw new ArgumentException($"The maps differ in shape: [{string.Join(", ", a.shape)}] and [{string.Join(", ", b.shape)}].", nameof(b));
        using var scope = NewDisposeScope();
        var x = a.detach().flatten().to_type(ScalarType.Float64).cpu();
        var y = b.detach().flatten().to_type(ScalarType.Float64).cpu();
        x -= x.mean();
        y -= y.mean();
        double norms = Math.Sqrt((x * x).sum().item<double>() * (y * y).sum().item<double>());
        return norms == 0 ? double.NaN : (x * y).sum().item<double>() / norms;
    }

    /// <summary>
    /// The share of the map's total magnitude that lies inside <paramref name="mask"/> (H x W, 1 inside, 0 outside; a
    /// soft mask weighs each pixel by its value): how much of a saliency map falls on the object. Compare it with the
    /// mask's mean, the share a map spread evenly over the image would put there. A coarser map (Grad-CAM's 7 x 7) is
    /// first enlarged to the mask's size, bilinearly, as the figures draw it over the image. NaN for a map that is zero
    /// everywhere.
    /// </summary>
    public static double ShareInside(Tensor map, Tensor mask)
    {
        var (inside, total) = MagnitudeInside(map, mask);
        return total == 0 ? double.NaN : inside / total;
    }

    /// <summary>
    /// The share of several maps' magnitude, taken together, that lies inside their masks (one mask per map, each as
    /// <see cref="ShareInside"/> takes them): all the magnitude inside the masks over all the maps' magnitude, so each
    /// map counts by its total and a faint map hardly counts (<see cref="OnObject"/> counts every image alike). NaN
    /// when every map is zero everywhere.
    /// </summary>
    public static double PooledShareInside(IReadOnlyList<Tensor> maps, IReadOnlyList<Tensor> masks)
    {
        if (maps.Count != masks.Count || maps.Count == 0)
            throw new ArgumentException($"Give one mask per map, and at least one map; got {maps.Count} maps and {masks.Count} masks.", nameof(masks));
        double inside = 0, total = 0;
        for (int i = 0; i < maps.Count; i++)
        {
            var (mapInside, mapTotal) = MagnitudeInside(maps[i], masks[i]);
            inside += mapInside;
            total += mapTotal;
        }
        return total == 0 ? double.NaN : inside / total;
    }

    /// <summary>The map's magnitude inside the mask and in all (<see cref="ShareInside"/> says how a map meets its mask).</summary>
    static (double Inside, double Total) MagnitudeInside(Tensor map, Tensor mask)
    {
        if (mask.dim() != 2)
            throw new ArgumentException($"The mask must be H x W; got [{string.Join(", ", mask.shape)}]. Prepare it as the image was (ObjectMasks.Prepare).", nameof(mask));
        using var scope = NewDisposeScope();
        var magnitudes = Magnitudes(map).to_type(ScalarType.Float32);
        long height = mask.shape[0], width = mask.shape[1];
        if (magnitudes.shape[0] > height || magnitudes.shape[1] > width
            || (magnitudes.shape[0] < height && height * magnitudes.shape[1] != width * magnitudes.shape[0]))
            throw new ArgumentException($"The map ({magnitudes.shape[0]} x {magnitudes.shape[1]}) does not fit the mask ({height} x {width}): " +
                "it must be the mask's size, or a coarser map of the same shape. Prepare the mask as the image was (ObjectMasks.Prepare).", nameof(mask));
        if (magnitudes.shape[0] != height)
            magnitudes = nn.functional.interpolate(magnitudes[TensorIndex.None, TensorIndex.None], [height, width], mode: InterpolationMode.Bilinear, align_corners: false)[0, 0];
        magnitudes = magnitudes.to_type(ScalarType.Float64);
        return ((magnitudes * mask.detach().cpu().to_type(ScalarType.Float64)).sum().item<double>(), magnitudes.sum().item<double>());
    }

    /// <summary>
    /// How much more of the maps' magnitude lies on the objects than their area would give: the maps' shares inside the
    /// masks (<see cref="ShareInside"/>) over the masks' shares of the image, each summed over the images (so large and
    /// small objects count by their size). 1: no more than chance; 2: twice as dense on the object as on average. Maps
    /// and masks are N x H x W (or H x W for one image), masks 1 on the object and 0 elsewhere.
    /// </summary>
    public static (double Concentration, double ShareOnObject, double ObjectArea) OnObject(Tensor maps, Tensor masks)
    {
        if (!maps.shape.SequenceEqual(masks.shape) || maps.dim() is not (2 or 3))
            throw new ArgumentException($"Maps and masks must both be N x H x W (or H x W) and alike; got [{string.Join(", ", maps.shape)}] and [{string.Join(", ", masks.shape)}].", nameof(masks));
        using var scope = NewDisposeScope();
        var perImage = maps.dim() == 2 ? maps.unsqueeze(0) : maps;
        var maskPerImage = masks.dim() == 2 ? masks.unsqueeze(0) : masks;
        long images = perImage.shape[0];
        double share = 0, area = 0;
        for (long i = 0; i < images; i++)
        {
            double inside = ShareInside(perImage[i], maskPerImage[i]);
            if (double.IsNaN(inside))
                throw new ArgumentException($"Map {i} is zero everywhere, so it has no share anywhere; leave that image out.", nameof(maps));
            share += inside;
            area += maskPerImage[i].to_type(ScalarType.Float64).mean().item<double>();
        }
        return (share / area, share / images, area / images);
    }

    /// <summary>
    /// How speckled a map is: the mean absolute difference between horizontally and vertically neighbouring pixels'
    /// magnitudes, over the mean magnitude. Near 0 for a smooth map; about 1 or more when neighbours differ as much as
    /// the map's typical value (single bright pixels among dark ones). NaN for a map that is zero everywhere.
    /// </summary>
    public static double Roughness(Tensor map)
    {
        using var scope = NewDisposeScope();
        var m = Magnitudes(map).to_type(ScalarType.Float64);
        double mean = m.mean().item<double>();
        if (mean == 0)
            return double.NaN;
        var across = (m[.., 1..] - m[.., ..^1]).abs();
        var down = (m[1..] - m[..^1]).abs();
        return (across.sum().item<double>() + down.sum().item<double>()) / (across.numel() + down.numel()) / mean;
    }

    static Tensor Magnitudes(Tensor map)
    {
        var values = map.detach().cpu().abs();
        return values.dim() switch
        {
            2 => values,
            3 => values.sum([0]),
            4 when values.shape[0] == 1 => values[0].sum([0]),
            _ => throw new ArgumentException($"A map is H x W, C x H x W or 1 x C x H x W; got [{string.Join(", ", map.shape)}].", nameof(map)),
        };
    }
}
