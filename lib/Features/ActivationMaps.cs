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

    /// <summary>
    /// For each channel of <paramref name="maps"/> (C x H x W), the share of the positions in <paramref name="mask"/>
    /// (H x W, true or non-zero where it counts) at which the channel is lit: above <paramref name="threshold"/> of the
    /// strongest value of all the maps, the top of <see cref="Tiles"/>' colour scale. C values on the CPU.
    /// </summary>
    public static Tensor LitShare(Tensor maps, Tensor mask, float threshold = 0.1f)
    {
        if (maps.dim() != 3 || mask.dim() != 2 || maps.shape[1] != mask.shape[0] || maps.shape[2] != mask.shape[1])
            throw new ArgumentException($"Expected maps C x H x W and a mask H x W of the same size; got [{string.Join(", ", maps.shape)}] and [{string.Join(", ", mask.shape)}].");
        using var scope = NewDisposeScope();
        var inside = mask.to_type(ScalarType.Float32).cpu();
        var lit = maps.cpu().gt(threshold * maps.max()).to_type(ScalarType.Float32);
        return ((lit * inside).sum([1, 2]) / inside.sum().clamp_min(1)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Which of the first <paramref name="channels"/> channels of <paramref name="layer"/> are black or nearly black in
    /// <see cref="Tiles"/> for <paramref name="image"/> (1 x C x H x W), and whether they are silent on every one of
    /// <paramref name="photos"/> (N x C x H x W) too. <paramref name="beforeRelu"/> names the layer whose output the
    /// ReLU cuts (for the trunk's "relu", "bn1"): a silent channel's largest value there is below zero.
    /// <paramref name="convolution"/> names the convolution that feeds it, whose filters are measured.
    /// </summary>
    public static ChannelSilence Silence(VisionModel model, Tensor image, Tensor photos, string layer, string beforeRelu,
        string convolution, int channels = 16, float faint = 0.2f)
    {
        using var scope = NewDisposeScope();
        var maps = Of(model, image, layer);
        int n = (int)Math.Min(channels, maps.shape[0]);
        var peak = maps.amax([1, 2]);
        float top = peak.max().item<float>();
        var zeroOnImage = Enumerable.Range(0, n).Where(c => peak[c].item<float>() == 0).ToArray();
        var faintOnImage = Enumerable.Range(0, n).Where(c => peak[c].item<float>() is > 0 and var v && v < faint * top).ToArray();
        var all = new List<Tensor>();
        for (long start = 0; start < photos.shape[0]; start += 4)
        {
            using var output = model.Activations(photos.narrow(0, start, Math.Min(4, photos.shape[0] - start)), layer)[layer];
            all.Add(output.amax([2, 3]).cpu());
        }
        var peakOnAll = cat(all, 0).amax([0]);
        var zeroOnAll = Enumerable.Range(0, n).Where(c => peakOnAll[c].item<float>() == 0).ToArray();
        using var before = model.Activations(image.dim() == 3 ? image.unsqueeze(0) : image, beforeRelu)[beforeRelu];
        var beforePeak = before[0].amax([1, 2]).cpu();
        var weights = ((TorchSharp.Modules.Conv2d)model.Layer(convolution)).weight!.detach().abs().flatten(1).mean([1]).cpu();
        float median = weights.median().item<float>();
        return new ChannelSilence(n, (int)peak.eq(0).sum().item<long>(), (int)peakOnAll.eq(0).sum().item<long>(), (int)maps.shape[0],
            zeroOnImage, faintOnImage, zeroOnAll,
            zeroOnImage.Select(c => beforePeak[c].item<float>()).ToArray(),
            zeroOnImage.Select(c => weights[c].item<float>() / median).ToArray());
    }
}

/// <summary>
/// What <see cref="ActivationMaps.Silence"/> found, for the first <paramref name="Shown"/> channels: those exactly zero
/// everywhere on the image, those lit but below the faint share of the layer's peak, those zero on every photo; for
/// each channel zero on the image, its largest value before the ReLU and the mean absolute weight of its filter over
/// the median channel's. <paramref name="ZeroOnImageOfAll"/> and <paramref name="ZeroOnAllOfAll"/> count over all
/// <paramref name="Channels"/> channels.
/// </summary>
public sealed record ChannelSilence(int Shown, int ZeroOnImageOfAll, int ZeroOnAllOfAll, int Channels, int[] ZeroOnImage,
    int[] FaintOnImage, int[] ZeroOnAll, float[] PeakBeforeRelu, float[] FilterSize);
