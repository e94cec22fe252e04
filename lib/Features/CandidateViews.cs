using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Features;

/// <summary>
/// One candidate view of an image: the image scaled by <see cref="ScaleX"/> and <see cref="ScaleY"/> (scaled pixels per
/// original pixel) so that its shorter side is <see cref="ShorterSide"/> pixels, then cut to <see cref="Crop"/>, a
/// region of the scaled image.
/// </summary>
public sealed record View(int Image, Region Crop, double ScaleX, double ScaleY, int ShorterSide)
{
    /// <summary>
    /// A region of this view (in the view's pixels) as the region of the original image it shows: shifted by the crop,
    /// scaled back, rounded outwards to whole pixels and clipped to the image.
    /// </summary>
    public Region ToImage(Region inView, int imageWidth, int imageHeight)
    {
        int left = Math.Max(0, (int)Math.Floor((Crop.Left + inView.Left) / ScaleX + 1e-9));
        int top = Math.Max(0, (int)Math.Floor((Crop.Top + inView.Top) / ScaleY + 1e-9));
        int right = Math.Min(imageWidth, (int)Math.Ceiling((Crop.Left + inView.Left + inView.Width) / ScaleX - 1e-9));
        int bottom = Math.Min(imageHeight, (int)Math.Ceiling((Crop.Top + inView.Top + inView.Height) / ScaleY - 1e-9));
        return new Region(left, top, right - left, bottom - top);
    }
}

/// <summary>
/// The views <see cref="TopPatches"/> scans a unit over, all of one size so that they run through the network in
/// batches: <see cref="Pixels"/> (V x C x H x W) and, for each, which image it comes from and where
/// (<see cref="Views"/>). Either each image whole (<see cref="Whole"/>), or photos of any size at several scales, each
/// cut into overlapping squares (<see cref="Of"/>), so that a unit's candidates are regions of many sizes and places,
/// as the region proposals of Girshick et al.'s R-CNN are.
/// </summary>
public sealed class CandidateViews : IDisposable
{
    readonly bool ownsPixels;

    CandidateViews(Tensor pixels, IReadOnlyList<View> views, IReadOnlyList<(int Width, int Height)> imageSizes, bool ownsPixels)
    {
        Pixels = pixels;
        Views = views;
        ImageSizes = imageSizes;
        this.ownsPixels = ownsPixels;
    }

    /// <summary>V x C x H x W: the pixels of every view, on the CPU for views of photos.</summary>
    public Tensor Pixels { get; }

    /// <summary>For each view, its image and where in the image it lies.</summary>
    public IReadOnlyList<View> Views { get; }

    /// <summary>The width and height of each original image.</summary>
    public IReadOnlyList<(int Width, int Height)> ImageSizes { get; }

    /// <summary>
    /// Each image of <paramref name="images"/> (N x C x H x W, already what the model takes) as its only view. The
    /// views share the images' memory; disposing the views leaves the images alone.
    /// </summary>
    public static CandidateViews Whole(Tensor images)
    {
        if (images.dim() != 4 || images.shape[0] == 0)
            throw new ArgumentException($"Expected a non-empty batch of images N x C x H x W; got [{string.Join(", ", images.shape)}].", nameof(images));
        int n = (int)images.shape[0], height = (int)images.shape[2], width = (int)images.shape[3];
        var views = Enumerable.Range(0, n).Select(i => new View(i, new Region(0, 0, width, height), 1, 1, Math.Min(width, height))).ToList();
        return new CandidateViews(images, views, Enumerable.Repeat((width, height), n).ToList(), ownsPixels: false);
    }

    /// <summary>
    /// Each photo (C x H x W in [0,1], any size, any of 1 or 3 channels) converted to the channels of
    /// <paramref name="model"/>, scaled so that its shorter side is each of <paramref name="shorterSides"/> in turn
    /// (<see cref="Data.Images.Scale"/>), and cut into squares of the model's input size that overlap by
    /// <paramref name="overlap"/> of their side (the last square of a row or column is moved in to end at the border).
    /// A shorter side equal to the input size gives the photo at its usual scale; larger ones give views that each
    /// show a smaller part of it, whose units see smaller regions of the photo.
    /// </summary>
    public static CandidateViews Of(VisionModel model, IReadOnlyList<Tensor> photos, IReadOnlyList<int> shorterSides, double overlap = 0.5)
    {
        int size = model.Input.Height;
        if (model.Input.Width != size)
            throw new ArgumentException($"{model.Name} takes {model.Input.Width} x {model.Input.Height} images; candidate views are square.", nameof(model));
        if (photos.Count == 0)
            throw new ArgumentException("There are no photos to cut into views.", nameof(photos));
        if (shorterSides.Count == 0 || shorterSides.Any(s => s < size))
            throw new ArgumentOutOfRangeException(nameof(shorterSides), $"Give at least one shorter side, each at least the model's input size {size}; got [{string.Join(", ", shorterSides)}].");
        if (overlap is < 0 or >= 1)
            throw new ArgumentOutOfRangeException(nameof(overlap), $"The overlap of neighbouring views is a fraction in [0, 1); got {overlap}.");
        int stride = Math.Max(1, (int)Math.Round(size * (1 - overlap)));
        var views = new List<View>();
        var sizes = new List<(int Width, int Height)>();
        var crops = new List<Tensor>();
        using var scope = NewDisposeScope();
        for (int i = 0; i < photos.Count; i++)
        {
            var photo = photos[i];
            if (photo.dim() != 3)
                throw new ArgumentException($"Photo {i} is shaped [{string.Join(", ", photo.shape)}]; expected one image C x H x W.", nameof(photos));
            int height = (int)photo.shape[1], width = (int)photo.shape[2];
            sizes.Add((width, height));
            foreach (int side in shorterSides.Distinct())
            {
                var scaled = Data.Images.Scale(photo, model, side);
                int scaledHeight = (int)scaled.shape[2], scaledWidth = (int)scaled.shape[3];
                foreach (int top in Offsets(scaledHeight, size, stride))
                    foreach (int left in Offsets(scaledWidth, size, stride))
                    {
                        views.Add(new View(i, new Region(left, top, size, size), (double)scaledWidth / width, (double)scaledHeight / height, side));
                        crops.Add(scaled[0, .., top..(top + size), left..(left + size)]);
                    }
            }
        }
        var pixels = stack(crops).MoveToOuterDisposeScope();
        return new CandidateViews(pixels, views, sizes, ownsPixels: true);
    }

    /// <summary>The starts of squares of <paramref name="size"/> every <paramref name="stride"/> along a side, the last one ending at the side's end.</summary>
    internal static List<int> Offsets(int length, int size, int stride)
    {
        var starts = new List<int>();
        for (int start = 0; start + size < length; start += stride)
            starts.Add(start);
        starts.Add(length - size);
        return starts;
    }

    public void Dispose()
    {
        if (ownsPixels)
            Pixels.Dispose();
    }
}
