using static TorchSharp.torch;

namespace WhatNetworksLearn.Rendering;

/// <summary>
/// The magnitude at which a figure's maps reach full colour: one rule for every map of the figure, which the figure
/// states under its title. Choose it by what the maps are to be compared for: <see cref="Fixed"/> when they share a
/// unit (a drop of probability), so that a weak map stays faint; a map's own top when only where each map is
/// strongest matters.
/// </summary>
public sealed class MapScale
{
    enum Rule { OwnMaximum, OwnQuantile, Fixed }

    readonly Rule rule;
    readonly double value;
    readonly string? meaning;

    MapScale(Rule rule, double value, string? meaning) => (this.rule, this.value, this.meaning) = (rule, value, meaning);

    /// <summary>Each map in full colour at its own largest magnitude: where each map is strongest, not how strong it is.</summary>
    public static MapScale OwnMaximum { get; } = new(Rule.OwnMaximum, 1, null);

    /// <summary>
    /// Each map in full colour from its own <paramref name="q"/>-quantile of magnitude up (0.99: its top 1% saturate),
    /// so that a few extreme pixels do not leave the rest too faint to see. A map whose quantile is 0 (a map of mostly
    /// zeros) reaches full colour at its maximum instead.
    /// </summary>
    public static MapScale OwnQuantile(double q) => q is > 0 and < 1
        ? new(Rule.OwnQuantile, q, null)
        : throw new ArgumentOutOfRangeException(nameof(q), $"The quantile lies strictly between 0 and 1 (0.99: the top 1% in full colour); got {q}.");

    /// <summary>
    /// Every map in full colour at <paramref name="value"/>, so that maps can be compared with each other and a small
    /// value stays faint. <paramref name="meaning"/> says what the value is, for the figure's note ("a drop of 100 points").
    /// </summary>
    public static MapScale Fixed(double value, string? meaning = null) => double.IsFinite(value) && value > 0
        ? new(Rule.Fixed, value, meaning)
        : throw new ArgumentOutOfRangeException(nameof(value), $"The value painted in full colour must be positive; got {value}.");

    /// <summary>The magnitude at which <paramref name="map"/> reaches full colour; 1 for a map that is zero everywhere (it draws nothing).</summary>
    public float FullColourAt(Tensor map)
    {
        if (rule == Rule.Fixed)
            return (float)value;
        using var scope = NewDisposeScope();
        var magnitudes = map.detach().cpu().abs();
        float largest = magnitudes.max().item<float>();
        if (largest == 0)
            return 1;
        if (rule == Rule.OwnMaximum)
            return largest;
        float quantile = Pixels.Quantile(magnitudes, value);
        return quantile > 0 ? quantile : largest;
    }

    /// <summary>The rule in words, as the figure's note gives it: "at its own largest magnitude".</summary>
    public override string ToString() => rule switch
    {
        Rule.OwnMaximum => "at its own largest magnitude",
        Rule.OwnQuantile => $"in its own top {(1 - value) * 100:0.##}% of magnitudes",
        _ => $"at {value:G3}{(meaning is null ? "" : $" ({meaning})")}, the same for every map",
    };
}

/// <summary>Which way an <see cref="AttributionGrid"/> runs.</summary>
public enum GridRows
{
    /// <summary>One row per image: the image, then each method's map of it.</summary>
    Images,
    /// <summary>The images along the top row, then one row per method.</summary>
    Methods,
}

/// <summary>
/// One method's maps in an <see cref="AttributionGrid"/>: <paramref name="Maps"/> is N x H x W, one map per image of
/// the grid, signed or magnitudes (<c>Attributions.PerPixel</c> makes one of a C x H x W attribution); a coarser
/// h x w map, such as Grad-CAM's, is enlarged bilinearly over its image. Each tile's caption is
/// <paramref name="Name"/>, or the image's entry of <paramref name="Captions"/> when given (the name and a number
/// measured on that map, say).
/// </summary>
public sealed record MapSet(string Name, Tensor Maps, IReadOnlyList<string>? Captions = null);

/// <summary>
/// The figure of attribution methods × images: each map laid over its image with <see cref="Plot.SignedOverlay"/>
/// (red where positive, blue where negative, clear at 0), every map by the same <see cref="MapScale"/> rule, which
/// the note under the title states. A map that is zero everywhere draws nothing, so its caption says "all 0".
/// </summary>
public static class AttributionGrid
{
    /// <summary>
    /// The grid of <paramref name="images"/> (N x C x H x W, captioned by <paramref name="imageCaptions"/>) and the
    /// maps of each method in <paramref name="methods"/>, one row per image or one row per method
    /// (<paramref name="rows"/>). <paramref name="note"/>, if given, comes first under the title, then the colour rule.
    /// </summary>
    public static Figure Draw(Tensor images, IReadOnlyList<string> imageCaptions, IReadOnlyList<MapSet> methods, MapScale scale,
                              string title, GridRows rows = GridRows.Images, int tileSize = 110, string? note = null)
    {
        using var scope = NewDisposeScope();
        var tiles = Tiles(images, imageCaptions, methods, scale, rows);
        var rule = ColourRule(methods, scale);
        int columns = rows == GridRows.Images ? methods.Count + 1 : (int)images.shape[0];
        return Plot.Grid(tiles, title, columns, tileSize, note is null ? rule : $"{note} {rule}");
    }

    /// <summary>The sentence under the title that says how to read the colours (blue is mentioned only when a map has negative values).</summary>
    internal static string ColourRule(IReadOnlyList<MapSet> methods, MapScale scale)
    {
        bool signed = methods.Any(m => m.Maps.lt(0).any().item<bool>());
        return $"Each map over its image: red where positive{(signed ? ", blue where negative" : "")}, clear at 0, in full colour {scale}.";
    }

    /// <summary>One map over its image (3 x H x W) as the grid draws it: for a figure that mixes maps with other pictures.</summary>
    public static Tensor Overlay(Tensor image, Tensor map, MapScale scale) => Plot.SignedOverlay(image, map, scale.FullColourAt(map));

    /// <summary>The grid's tiles in reading order, row by row.</summary>
    internal static List<Tile> Tiles(Tensor images, IReadOnlyList<string> imageCaptions, IReadOnlyList<MapSet> methods, MapScale scale, GridRows rows)
    {
        Check(images, imageCaptions, methods);
        int count = (int)images.shape[0];
        Tile ImageTile(int i) => new(images[i], imageCaptions[i]);
        Tile MapTile(MapSet method, int i)
        {
            var map = method.Maps[i];
            var caption = method.Captions?[i] ?? method.Name;
            if (!map.ne(0).any().item<bool>())   // nothing to draw: say so, lest the bare image pass for a map
            {
                int lineEnd = caption.IndexOf('\n');
                caption = lineEnd < 0 ? caption + ", all 0" : caption[..lineEnd] + ", all 0" + caption[lineEnd..];
            }
            return new Tile(Overlay(images[i], map, scale), caption);
        }
        return rows == GridRows.Images
            ? Enumerable.Range(0, count).SelectMany(i => methods.Select(m => MapTile(m, i)).Prepend(ImageTile(i))).ToList()
            : Enumerable.Range(0, count).Select(ImageTile).Concat(methods.SelectMany(m => Enumerable.Range(0, count).Select(i => MapTile(m, i)))).ToList();
    }

    static void Check(Tensor images, IReadOnlyList<string> imageCaptions, IReadOnlyList<MapSet> methods)
    {
        if (images.dim() != 4 || images.shape[0] < 1)
            throw new ArgumentException($"Expected the images as N x C x H x W; got [{string.Join(", ", images.shape)}].", nameof(images));
        long count = images.shape[0];
        if (imageCaptions.Count != count)
            throw new ArgumentException($"Give one caption per image: {count} images, {imageCaptions.Count} captions.", nameof(imageCaptions));
        if (methods.Count == 0)
            throw new ArgumentException("The grid needs at least one method's maps.", nameof(methods));
        foreach (var method in methods)
        {
            if (method.Maps.dim() != 3 || method.Maps.shape[0] != count)
                throw new ArgumentException($"The maps of {method.Name} must be N x H x W with N = {count}, one per image; got [{string.Join(", ", method.Maps.shape)}]. " +
                    "Reduce a C x H x W attribution to one value per pixel first (Attributions.PerPixel).", nameof(methods));
            if (method.Captions is not null && method.Captions.Count != count)
                throw new ArgumentException($"Give {method.Name} one caption per image: {count} images, {method.Captions.Count} captions.", nameof(methods));
        }
    }
}
