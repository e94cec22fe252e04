using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Data;

/// <summary>Turns any image into what a model takes, by one explicit policy.</summary>
public static class Images
{
    /// <summary>
    /// Makes an image (C x H x W) or a batch (N x C x H x W) of any size fit <paramref name="model"/>:
    /// <list type="bullet">
    /// <item>channels: a greyscale image gets three equal channels for a colour model; a colour image becomes its luma (BT.601) for a greyscale model;</item>
    /// <item>size: the shorter side is scaled to the model's (bilinear, antialiased when shrinking), then the centre is cropped to the model's height and width, so nothing is stretched;</item>
    /// <item>values: bytes (0 to 255) are divided by 255; floating-point values must already be in [0,1] (else a clear error, see <see cref="PixelRange"/>), and stay within the image's range (resampling's rounding is clamped away).</item>
    /// </list>
    /// Returns N x C x H x W on the model's device.
    /// </summary>
    public static Tensor Prepare(Tensor image, VisionModel model)
    {
        using var scope = NewDisposeScope();
        var batch = image.dim() switch
        {
            3 => image.unsqueeze(0),
            4 => image,
            _ => throw new ArgumentException($"Expected an image C x H x W or a batch N x C x H x W; got [{string.Join(", ", image.shape)}].", nameof(image)),
        };
        if (batch.shape[0] == 0)
            throw new ArgumentException("The batch is empty: there are no images to prepare.", nameof(image));
        // Bytes (0 to 255) are divided by 255, as image libraries do; floating-point pixels must already lie in [0,1].
        batch = batch.dtype == ScalarType.Byte ? batch.to_type(ScalarType.Float32) / 255 : batch.to_type(ScalarType.Float32);
        PixelRange.Check(batch, "Images.Prepare", nameof(image));
        batch = ConvertChannels(batch, model.Input.Channels);
        batch = ResizeAndCrop(batch, model.Input.Height, model.Input.Width);
        return batch.to(model.Device).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// <paramref name="count"/> views of one image (C x H x W) fitted to <paramref name="model"/>, for training on a few
    /// photos (notebook 14): view 0 is <see cref="Prepare"/> of the whole image; every other view is a square crop at a
    /// random place, its side a random fraction from <paramref name="smallestSide"/> to 1 of the image's shorter side,
    /// fitted by <see cref="Prepare"/>, and every odd-numbered view is mirrored left to right. Returns
    /// count x C x H x W on the model's device; equal seeds give equal views.
    /// </summary>
    public static Tensor RandomViews(Tensor image, VisionModel model, int count, int seed, double smallestSide = 0.6)
    {
        if (image.dim() != 3)
            throw new ArgumentException($"Expected one image C x H x W; got [{string.Join(", ", image.shape)}].", nameof(image));
        if (count < 1)
            throw new ArgumentOutOfRangeException(nameof(count), $"Ask for at least one view; got {count}.");
        if (!(smallestSide is > 0 and <= 1))
            throw new ArgumentOutOfRangeException(nameof(smallestSide), $"The smallest crop is a fraction of the shorter side in (0, 1]; got {smallestSide}.");
        using var scope = NewDisposeScope();
        var random = new Random(seed);
        long height = image.shape[1], width = image.shape[2], shorter = Math.Min(height, width);
        var views = new List<Tensor> { Prepare(image, model) };
        for (int i = 1; i < count; i++)
        {
            long side = Math.Max(1, (long)Math.Round(shorter * (smallestSide + (1 - smallestSide) * random.NextDouble())));
            long top = random.NextInt64(height - side + 1), left = random.NextInt64(width - side + 1);
            var view = Prepare(image.narrow(1, top, side).narrow(2, left, side), model);
            views.Add(i % 2 == 1 ? view.flip(3) : view);
        }
        return cat(views, 0).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// One image (C x H x W) with the channels of <paramref name="model"/> and its shorter side scaled to
    /// <paramref name="shorterSide"/> pixels, by the same policy as <see cref="Prepare"/> but not cropped: 1 x C x H' x W'
    /// on the CPU. Several scales of one photo are the candidate views <see cref="Features.TopPatches"/> scans.
    /// </summary>
    public static Tensor Scale(Tensor image, VisionModel model, int shorterSide)
    {
        if (image.dim() != 3)
            throw new ArgumentException($"Expected one image C x H x W; got [{string.Join(", ", image.shape)}].", nameof(image));
        if (shorterSide < 1)
            throw new ArgumentOutOfRangeException(nameof(shorterSide), $"The shorter side must be at least 1 pixel; got {shorterSide}.");
        using var scope = NewDisposeScope();
        var batch = ConvertChannels(image.unsqueeze(0).to_type(ScalarType.Float32).cpu(), model.Input.Channels);
        long h = batch.shape[2], w = batch.shape[3];
        double scale = (double)shorterSide / Math.Min(h, w);
        long height = h <= w ? shorterSide : (long)Math.Round(h * scale), width = h <= w ? (long)Math.Round(w * scale) : shorterSide;
        return Resize(batch, height, width).MoveToOuterDisposeScope();
    }

    static Tensor ConvertChannels(Tensor batch, int channels)
    {
        long given = batch.shape[1];
        if (given == channels)
            return batch;
        if (given == 1 && channels == 3)
            return batch.expand(-1, 3, -1, -1).contiguous();
        if (given == 3 && channels == 1)
            return (batch * tensor(new[] { 0.299f, 0.587f, 0.114f }, device: batch.device).reshape(1, 3, 1, 1)).sum(1, keepdim: true);
        throw new ArgumentException($"Cannot turn images with {given} channels into {channels}: expected 1 (greyscale) or 3 (RGB) channels.");
    }

    static Tensor ResizeAndCrop(Tensor batch, int height, int width)
    {
        long h = batch.shape[2], w = batch.shape[3];
        if (h == height && w == width)
            return batch;
        double scale = Math.Max((double)height / h, (double)width / w);
        long scaledHeight = Math.Max(height, (long)Math.Round(h * scale)), scaledWidth = Math.Max(width, (long)Math.Round(w * scale));
        var resized = Resize(batch, scaledHeight, scaledWidth);
        long top = (scaledHeight - height) / 2, left = (scaledWidth - width) / 2;
        // Every output pixel is a weighted mean of input pixels, but antialiased resampling can round a hair past the
        // input's range (1.0000001 from pixels of at most 1), which attacks refuse as invalid pixels.
        return resized.narrow(2, top, height).narrow(3, left, width).clamp(batch.min(), batch.max());
    }

    /// <summary>
    /// A batch (N x C x H x W) resized to <paramref name="height"/> x <paramref name="width"/>: bilinear, antialiased when
    /// shrinking so that a small copy does not alias; the batch itself when it has that size already.
    /// </summary>
    public static Tensor Resize(Tensor batch, long height, long width)
    {
        if (batch.dim() != 4)
            throw new ArgumentException($"Expected a batch N x C x H x W; got [{string.Join(", ", batch.shape)}]. Add the batch dimension with unsqueeze(0).", nameof(batch));
        if (height < 1 || width < 1)
            throw new ArgumentOutOfRangeException(nameof(height), $"The new size must be at least 1 x 1 pixels; got {height} x {width}.");
        return batch.shape[2] == height && batch.shape[3] == width ? batch
            : nn.functional.interpolate(batch, [height, width], mode: InterpolationMode.Bilinear, align_corners: false,
                antialias: height < batch.shape[2] || width < batch.shape[3]);
    }
}
