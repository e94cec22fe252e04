using TorchSharp.Modules;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Rendering;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Features;

/// <summary>
/// The learned filters (convolution kernels) of a model, as pictures. First-layer filters act on pixels, so they
/// can be shown as small images; deeper filters act on feature maps and can only be shown channel by channel.
/// </summary>
public static class Filters
{
    /// <summary>The names of the model's convolution layers, first to last.</summary>
    public static IReadOnlyList<string> ConvolutionLayers(VisionModel model) =>
        model.LayerNames.Where(n => model.Layer(n) is Conv2d).ToList();

    /// <summary>The kernels of a convolution layer: out-channels x in-channels x k x k (a copy on the CPU).</summary>
    public static Tensor Weights(VisionModel model, string layer)
    {
        if (model.Layer(layer) is not Conv2d conv)
            throw new ArgumentException($"Layer '{layer}' of {model.Name} is not a convolution. Convolutions: {string.Join(", ", ConvolutionLayers(model))}.", nameof(layer));
        using var scope = NewDisposeScope();
        return conv.weight!.detach().cpu().clone().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The first convolution's filters as tiles: colour pictures when they read three channels (RGB),
    /// grey ones when they read one. Each filter is stretched to the full range on its own, so that its
    /// pattern shows whatever its strength.
    /// </summary>
    public static List<Tile> FirstLayerTiles(VisionModel model, int? count = null)
    {
        var layer = ConvolutionLayers(model).FirstOrDefault() ?? throw new InvalidOperationException($"{model.Name} has no convolution layer.");
        using var weights = Weights(model, layer);
        if (weights.shape[1] is not (1 or 3))
            throw new InvalidOperationException($"The first convolution of {model.Name} reads {weights.shape[1]} channels; only 1 or 3 can be drawn as pictures.");
        int n = (int)Math.Min(count ?? weights.shape[0], weights.shape[0]);
        var tiles = new List<Tile>();
        for (int i = 0; i < n; i++)
        {
            using var filter = weights[i];
            tiles.Add(new Tile(Pixels.Normalize(filter), $"{layer} #{i}"));
        }
        return tiles;
    }

    /// <summary>
    /// For each filter of <paramref name="weights"/> (out-channels x in-channels x k x k), how alike neighbouring weights
    /// are: the mean product of horizontally and of vertically adjacent weights, after removing the filter's mean,
    /// divided by the filter's mean square (its lag-one autocorrelation). Near 1 for a smooth pattern such as a broad
    /// edge or blob, near 0 for noise, -1 for a checkerboard. One value per filter.
    /// </summary>
    public static Tensor NeighbourCorrelation(Tensor weights)
    {
        if (weights.dim() != 4 || weights.shape[2] < 2 || weights.shape[3] < 2)
            throw new ArgumentException($"Expected filters out x in x k x k with k of at least 2; got [{string.Join(", ", weights.shape)}].", nameof(weights));
        using var scope = NewDisposeScope();
        var w = weights.detach().cpu().to_type(ScalarType.Float64);
        var centred = w - w.mean([1, 2, 3], keepdim: true);
        var across = (centred[.., .., .., 1..] * centred[.., .., .., ..^1]).mean([1, 2, 3]);
        var down = (centred[.., .., 1.., ..] * centred[.., .., ..^1, ..]).mean([1, 2, 3]);
        var meanSquare = (centred * centred).mean([1, 2, 3]).clamp_min(1e-30);
        return ((across + down) / 2 / meanSquare).to_type(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Deeper filters, one tile per (filter, input channel) slice, blue for negative and red for positive weights
    /// on one scale per filter: a row per filter, <paramref name="inputChannels"/> slices per row.
    /// </summary>
    public static List<Tile> Slices(VisionModel model, string layer, int filters = 4, int inputChannels = 8)
    {
        using var weights = Weights(model, layer);
        int rows = (int)Math.Min(filters, weights.shape[0]), columns = (int)Math.Min(inputChannels, weights.shape[1]);
        var tiles = new List<Tile>();
        for (int f = 0; f < rows; f++)
        {
            using var filter = weights[f];
            float scale;
            using (NewDisposeScope())
                scale = Math.Max(filter.abs().max().item<float>(), 1e-12f);
            for (int c = 0; c < columns; c++)
            {
                using var scope = NewDisposeScope();
                tiles.Add(new Tile(Colormaps.Apply(filter[c] / scale, Colormap.Diverging).MoveToOuterDisposeScope(), $"#{f} in {c}"));
            }
        }
        return tiles;
    }
}
