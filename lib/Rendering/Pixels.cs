using System.Runtime.InteropServices;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Rendering;

/// <summary>Moves images between tensors (values in [0,1], C x H x W) and Skia bitmaps.</summary>
public static class Pixels
{
    /// <summary>
    /// The tensor as an RGBA bitmap. Accepts H x W, 1 x H x W or 3 x H x W; values are clamped to [0,1].
    /// </summary>
    public static SKBitmap ToBitmap(Tensor image)
    {
        using var scope = NewDisposeScope();
        var chw = AsChw(image);
        long height = chw.shape[1], width = chw.shape[2];
        var rgb = chw.shape[0] == 1 ? chw.expand(3, height, width) : chw;
        var bytes = rgb.detach().cpu().to_type(ScalarType.Float32).clamp(0, 1).mul(255).round()
            .to_type(ScalarType.Byte);
        var alpha = full(1, height, width, (byte)255, ScalarType.Byte);
        var rgba = cat([bytes, alpha], 0).permute(1, 2, 0).contiguous();
        var pixels = rgba.data<byte>().ToArray();

        var bitmap = new SKBitmap(new SKImageInfo((int)width, (int)height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
        return bitmap;
    }

    /// <summary>The bitmap as a 3 x H x W float tensor in [0,1] (alpha dropped).</summary>
    public static Tensor FromBitmap(SKBitmap bitmap)
    {
        using var rgba = new SKBitmap(new SKImageInfo(bitmap.Width, bitmap.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        if (!bitmap.CopyTo(rgba, SKColorType.Rgba8888))
            throw new InvalidDataException($"Could not convert a {bitmap.ColorType} image to RGBA.");
        var bytes = new byte[rgba.ByteCount];
        Marshal.Copy(rgba.GetPixels(), bytes, 0, bytes.Length);
        using var scope = NewDisposeScope();
        var hwc = tensor(bytes, [rgba.Height, rgba.Width, 4]);
        var image = hwc.narrow(2, 0, 3).permute(2, 0, 1).to_type(ScalarType.Float32).div(255f).contiguous();
        return image.MoveToOuterDisposeScope();
    }

    /// <summary>Views an H x W, 1 x H x W or 3 x H x W tensor as C x H x W; any other shape is an error.</summary>
    public static Tensor AsChw(Tensor image)
    {
        if (image.dim() == 2)
            return image.unsqueeze(0);
        if (image.dim() == 4 && image.shape[0] == 1)
            return image.squeeze(0);
        if (image.dim() == 3 && (image.shape[0] == 1 || image.shape[0] == 3))
            return image.alias();
        throw new ArgumentException(
            $"Expected one image shaped H x W, 1 x H x W or 3 x H x W (or 1 x C x H x W); got [{string.Join(", ", image.shape)}].",
            nameof(image));
    }

    /// <summary>
    /// The <paramref name="q"/>-quantile of all the values (the value below which that fraction of them lie, by rank,
    /// no interpolation): a display scale that a few extreme values cannot set, e.g. 0.99 to let the top 1% saturate.
    /// </summary>
    public static float Quantile(Tensor values, double q)
    {
        if (q is < 0 or > 1)
            throw new ArgumentOutOfRangeException(nameof(q), $"A quantile lies in [0, 1]; got {q}.");
        if (values.numel() == 0)
            throw new ArgumentException("An empty tensor has no quantiles.", nameof(values));
        using var scope = NewDisposeScope();
        var sorted = values.detach().cpu().to_type(ScalarType.Float32).flatten().sort().Values;
        return sorted[(long)Math.Round(q * (sorted.shape[0] - 1))].item<float>();
    }

    /// <summary>Rescales values linearly so the smallest becomes 0 and the largest 1 (a constant image becomes 0.5).</summary>
    public static Tensor Normalize(Tensor values)
    {
        using var scope = NewDisposeScope();
        var low = values.min();
        var range = values.max() - low;
        var result = range.item<float>() > 0 ? (values - low) / range : full_like(values, 0.5f);
        return result.MoveToOuterDisposeScope();
    }
}
