using WhatNetworksLearn.Models;
using WhatNetworksLearn.Rendering;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Features;

/// <summary>The feature maps a layer computes for one image, as a grid of small pictures.</summary>
public static class ActivationMaps
{
    /// <summary>
    /// The first <paramref name="channels"/> feature maps of <paramref name="layer"/> for one image (1 x C x H x W pixels).
    /// All tiles share one scale (0 to the layer's largest value), so a dark tile is a channel that barely responds.
    /// </summary>
    public static List<Tile> Tiles(VisionModel model, Tensor image, string layer, int channels = 16)
    {
        using var scope = NewDisposeScope();
        var maps = Of(model, image, layer);
        int n = (int)Math.Min(channels, maps.shape[0]);
        float top = Math.Max(maps.max().item<float>(), 1e-12f);
        return Enumerable.Range(0, n)
            .Select(c => new Tile(Colormaps.Apply((maps[c] / top).clamp(0, 1), Colormap.Hot).MoveToOuterDisposeScope(), $"{layer} #{c}"))
            .ToList();
    }

    /// <summary>The feature maps of one layer for one image: C x H x W on the CPU.</summary>
    public static Tensor Of(VisionModel model, Tensor image, string layer)
    {
        using var scope = NewDisposeScope();
        var pixels = image.dim() == 3 ? image.unsqueeze(0) : image;
        if (pixels.shape[0] != 1)
            throw new ArgumentException($"Expected one image; got a batch of {pixels.shape[0]}.", nameof(image));
        using var output = model.Activations(pixels, layer)[layer];   // captured outputs belong to no scope
        if (output.dim() != 4)
            throw new ArgumentException($"Layer '{layer}' outputs a tensor of shape [{string.Join(", ", output.shape)}], not feature maps; pick a convolution, ReLU or pooling layer.", nameof(layer));
        return output[0].cpu().clone().MoveToOuterDisposeScope();
    }
}
