using System.Runtime.InteropServices;
using OpenCvSharp;
using TorchSharp;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Rendering;
using WhatNetworksLearn.Synthesis;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Attribution;

/// <summary>The labels of GrabCut's seed mask (OpenCV's GC_BGD … GC_PR_FGD).</summary>
public enum SeedLabel : byte
{
    Background = 0,
    Foreground = 1,
    ProbablyBackground = 2,
    ProbablyForeground = 3,
}

/// <summary>How the saliency map starts GrabCut.</summary>
public enum SegmentationStart
{
    /// <summary>
    /// Simonyan et al.'s seeds: the most salient pixels are sure object, the least salient sure background, the rest
    /// probably one or the other. Works when the map lies on the object; pixels it seeds wrongly stay wrong.
    /// </summary>
    Seeds,
    /// <summary>
    /// GrabCut's own start (Rother et al.), a box, here drawn around the most salient pixels instead of by a user:
    /// outside it sure background, inside it probably object. Only the extent of the salient region matters, so it
    /// also works when the saliency lies on both sides of the object's outline, as on Fashion-MNIST.
    /// </summary>
    Box,
}

/// <summary>Settings of a saliency-guided segmentation. Fractions are of the image's pixels.</summary>
/// <param name="ForegroundFraction">The most salient pixels, taken as certain object (Simonyan et al.: the top 5%).</param>
/// <param name="BackgroundFraction">The least salient pixels, taken as certain background (Simonyan et al.: the bottom 30%).</param>
/// <param name="ProbableForegroundFraction">Of the pixels in between, those this salient (as a fraction of all pixels, counted from the top) start as
/// "probably object", the rest as "probably background". GrabCut may move them either way.</param>
/// <param name="Iterations">GrabCut's rounds of re-estimating the colour models and re-cutting.</param>
/// <param name="Blur">Standard deviation, in pixels, of a Gaussian blur of the saliency map before the seeds are chosen (0: none).
/// A single gradient is speckled; blurring gathers its scattered peaks into coherent seed regions.</param>
/// <param name="Start">Seeds (the fractions above) or a box (<paramref name="BoxFraction"/>); see <see cref="SegmentationStart"/>.</param>
/// <param name="BoxFraction">For <see cref="SegmentationStart.Box"/>: the box is the bounding box of this fraction of the pixels, the most salient.</param>
/// <param name="Seed">Seeds OpenCV's random generator, which GrabCut's k-means uses, so that a cut can be reproduced.</param>
public sealed record SegmentationOptions(double ForegroundFraction = 0.05, double BackgroundFraction = 0.30,
    double ProbableForegroundFraction = 0.35, int Iterations = 5, double Blur = 0,
    SegmentationStart Start = SegmentationStart.Seeds, double BoxFraction = 0.4, int Seed = 0)
{
    public void Validate()
    {
        if (!(ForegroundFraction > 0 && ForegroundFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(ForegroundFraction), $"The foreground fraction must lie strictly between 0 and 1; got {ForegroundFraction}.");
        if (!(BackgroundFraction > 0 && BackgroundFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(BackgroundFraction), $"The background fraction must lie strictly between 0 and 1; got {BackgroundFraction}.");
        if (ForegroundFraction + BackgroundFraction >= 1)
            throw new ArgumentOutOfRangeException(nameof(BackgroundFraction), $"The foreground ({ForegroundFraction}) and background ({BackgroundFraction}) fractions overlap: their sum must be below 1.");
        if (ProbableForegroundFraction < ForegroundFraction || ProbableForegroundFraction > 1 - BackgroundFraction)
            throw new ArgumentOutOfRangeException(nameof(ProbableForegroundFraction), $"The probable-foreground fraction must lie between the foreground fraction ({ForegroundFraction}) and 1 − the background fraction ({1 - BackgroundFraction}).");
        if (Iterations < 1)
            throw new ArgumentOutOfRangeException(nameof(Iterations), "GrabCut needs at least one iteration.");
        if (!double.IsFinite(Blur) || Blur < 0)
            throw new ArgumentOutOfRangeException(nameof(Blur), $"The blur is a standard deviation in pixels and must be 0 or more; got {Blur}.");
        if (!Enum.IsDefined(Start))
            throw new ArgumentOutOfRangeException(nameof(Start), $"Unknown start {Start}: use SegmentationStart.Seeds or SegmentationStart.Box.");
        if (BoxFraction is <= 0 or > 1)
            throw new ArgumentOutOfRangeException(nameof(BoxFraction), $"The box fraction is a fraction of the pixels and must lie in (0, 1]; got {BoxFraction}.");
    }
}

/// <summary>What a saliency-guided segmentation found.</summary>
/// <param name="Image">3 x H x W: the image that was cut (after any resizing), for drawing the mask over it.</param>
/// <param name="Saliency">H x W: the saliency map the seeds came from (after any blur).</param>
/// <param name="Seeds">H x W bytes: the <see cref="SeedLabel"/> of each pixel given to GrabCut.</param>
/// <param name="Mask">H x W: 1 for the object, 0 for the background.</param>
/// <param name="Box">For <see cref="SegmentationStart.Box"/>, the box GrabCut started from (in the pixels of <paramref name="Image"/>); otherwise null.</param>
public sealed record SegmentationResult(Tensor Image, Tensor Saliency, Tensor Seeds, Tensor Mask, Box? Box = null) : IDisposable
{
    /// <summary>The fraction of the image the object covers.</summary>
    public float Coverage => Mask.mean().item<float>();

    /// <summary>How well the mask matches <paramref name="truth"/> (H x W, 1 on the object): see <see cref="SaliencySegmentation.IntersectionOverUnion"/>.</summary>
    public float IntersectionOverUnion(Tensor truth) => SaliencySegmentation.IntersectionOverUnion(Mask, truth);

    /// <summary>The seeds as a grey picture: sure object white, probably object light grey, probably background dark grey, sure background black.</summary>
    public Tensor SeedPicture()
    {
        using var scope = NewDisposeScope();
        var shades = tensor(new[] { 0f, 1f, 0.3f, 0.7f });   // indexed by SeedLabel
        return shades.index_select(0, Seeds.flatten().to_type(ScalarType.Int64)).reshape(Seeds.shape).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// What was kept, at the brightness it has in the image, on a checkerboard where the background was cut away
    /// (the usual picture of transparency): a kept part stays visible even on a black background.
    /// </summary>
    public Tensor Cutout()
    {
        using var scope = NewDisposeScope();
        long height = Mask.shape[0], width = Mask.shape[1];
        int square = (int)Math.Max(2, Math.Max(height, width) / 14);   // about 14 squares across
        var rows = arange(height).div(square, rounding_mode: RoundingMode.floor).unsqueeze(1);
        var columns = arange(width).div(square, rounding_mode: RoundingMode.floor).unsqueeze(0);
        var dark = (rows + columns).remainder(2).eq(0).unsqueeze(0);   // 1 x H x W, true on every other square
        var light = tensor(new[] { 0.80f, 0.84f, 0.92f }).reshape(3, 1, 1);
        var shade = tensor(new[] { 0.60f, 0.65f, 0.76f }).reshape(3, 1, 1);
        var checkerboard = where(dark, shade, light);
        return (Image * Mask + checkerboard * (1 - Mask)).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        Image.Dispose();
        Saliency.Dispose();
        Seeds.Dispose();
        Mask.Dispose();
    }
}

/// <summary>
/// Object segmentation from a class saliency map (Simonyan et al., 2014; notebook 08): the most salient pixels are
/// taken as sure object, the least salient as sure background, and GrabCut (OpenCV's; Rother et al., 2004) fits colour
/// models to both and finds the cut between them that follows the image's edges. Or GrabCut starts from the box around
/// the most salient pixels (<see cref="SegmentationStart.Box"/>). The network was never trained to segment: the
/// saliency map only points, and the colours of the image do the rest.
/// </summary>
public static class SaliencySegmentation
{
    /// <summary>
    /// Cuts <paramref name="image"/> (C x H x W pixels in [0,1], C = 1 or 3) with seeds from <paramref name="saliency"/> (H x W).
    /// </summary>
    public static SegmentationResult Run(Tensor image, Tensor saliency, SegmentationOptions? options = null)
    {
        options ??= new SegmentationOptions();
        options.Validate();
        if (image.dim() != 3 || image.shape[0] is not (1 or 3))
            throw new ArgumentException($"Expected one image C x H x W with 1 or 3 channels; got [{string.Join(", ", image.shape)}].", nameof(image));
        if (saliency.dim() != 2 || saliency.shape[0] != image.shape[1] || saliency.shape[1] != image.shape[2])
            throw new ArgumentException($"The saliency map must be H x W = {image.shape[1]} x {image.shape[2]}, the image's size; got [{string.Join(", ", saliency.shape)}]. " +
                "Resize one to the other first (the overload that takes a model does).", nameof(saliency));
        using var scope = NewDisposeScope();
        var rgb = image.detach().cpu().to_type(ScalarType.Float32);
        rgb = (rgb.shape[0] == 1 ? rgb.expand(3, -1, -1) : rgb).contiguous();
        var map = saliency.detach().cpu().to_type(ScalarType.Float32);
        using (var finite = map.isfinite().all().logical_and(rgb.isfinite().all()))
            if (!finite.item<bool>())
                throw new ArgumentException("The image or the saliency map contains NaN or infinite values.", nameof(saliency));

        if (options.Blur > 0)
            map = ImageFilters.GaussianBlur(map.unsqueeze(0).unsqueeze(0), options.Blur)[0, 0];
        Box? box = null;
        Tensor seeds;
        if (options.Start == SegmentationStart.Box)
        {
            box = SalientBox(map, options.BoxFraction);
            seeds = BoxSeeds(box, map.shape[0], map.shape[1]);
        }
        else
            seeds = Seeds(map, options);
        int height = (int)rgb.shape[1], width = (int)rgb.shape[2];
        var cut = GrabCut(ToBytes(rgb.permute(1, 2, 0)), seeds.data<byte>().ToArray(), height, width, options.Iterations, options.Seed);
        var labels = tensor(cut, [height, width]);
        var mask = labels.eq((byte)SeedLabel.Foreground).logical_or(labels.eq((byte)SeedLabel.ProbablyForeground)).to_type(ScalarType.Float32);
        return new SegmentationResult(rgb.MoveToOuterDisposeScope(), map.MoveToOuterDisposeScope(), seeds.MoveToOuterDisposeScope(), mask.MoveToOuterDisposeScope(), box);
    }

    /// <summary>
    /// Segments the object of class <paramref name="targetClass"/> in <paramref name="image"/> (C x H x W, the model's
    /// input size): <see cref="Prepare"/>, then the cut with <paramref name="options"/>.
    /// </summary>
    public static SegmentationResult Run(VisionModel model, Tensor image, int targetClass, int? workingSize = null,
        IAttribution? saliency = null, SegmentationOptions? options = null)
    {
        var (pixels, map) = Prepare(model, image, targetClass, workingSize, saliency);
        using (pixels)
        using (map)
            return Run(pixels, map, options);
    }

    /// <summary>
    /// The image to cut and its saliency map for class <paramref name="targetClass"/>, ready for
    /// <see cref="Run(Tensor, Tensor, SegmentationOptions?)"/>; prepare once to try several options on one image. The map
    /// comes from <paramref name="saliency"/> (an attribution method around the model, by default the class score's
    /// gradient, <see cref="UnitGradient"/> with <see cref="ReluBackward.Backprop"/>), one value per pixel by
    /// <see cref="Attributions.PerPixel"/>. With <paramref name="workingSize"/>, both are first enlarged (bilinear) to that
    /// side: GrabCut's colour models and edge terms need more than the 784 pixels of a Fashion-MNIST image to work with.
    /// </summary>
    public static (Tensor Image, Tensor Saliency) Prepare(VisionModel model, Tensor image, int targetClass, int? workingSize = null,
        IAttribution? saliency = null)
    {
        if (image.dim() != 3)
            throw new ArgumentException($"Expected one image C x H x W; got [{string.Join(", ", image.shape)}].", nameof(image));
        if (workingSize is < 8)
            throw new ArgumentOutOfRangeException(nameof(workingSize), $"The working size must be at least 8 pixels; got {workingSize}.");
        saliency ??= new UnitGradient(model, ReluBackward.Backprop);
        if (!ReferenceEquals(saliency.Model, model))
            throw new ArgumentException($"The saliency method explains {saliency.Model.Name}, not {model.Name}; build it around the model being segmented for.", nameof(saliency));
        using var scope = NewDisposeScope();
        var batch = image.unsqueeze(0);
        var map = Attributions.PerPixel(saliency.Attribute(batch, targetClass)).unsqueeze(1);   // 1 x 1 x H x W
        var picture = batch.cpu();
        if (workingSize is { } size)
        {
            picture = nn.functional.interpolate(picture, [size, size], mode: InterpolationMode.Bilinear, align_corners: false).clamp(0, 1);
            map = nn.functional.interpolate(map, [size, size], mode: InterpolationMode.Bilinear, align_corners: false);
        }
        return (picture[0].MoveToOuterDisposeScope(), map[0, 0].MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The seed mask: the top <see cref="SegmentationOptions.ForegroundFraction"/> of pixels by saliency are object, the
    /// bottom <see cref="SegmentationOptions.BackgroundFraction"/> background, the rest probably object or probably
    /// background by <see cref="SegmentationOptions.ProbableForegroundFraction"/>. Ties go by rank, so the fractions hold exactly.
    /// </summary>
    public static Tensor Seeds(Tensor saliency, SegmentationOptions options)
    {
        options.Validate();
        using var scope = NewDisposeScope();
        var flat = saliency.detach().cpu().to_type(ScalarType.Float32).flatten();
        if (flat.shape[0] < 2 || (flat.max() - flat.min()).item<float>() <= 0)
            throw new ArgumentException("The saliency map is constant, so it names no foreground seeds: no pixel is more salient than another. " +
                "Check that the map came from the right model and class (an all-zero map means the score did not depend on the pixels).", nameof(saliency));
        long count = flat.shape[0];
        var order = flat.sort(0, descending: true, stable: true).Indices;
        var rank = empty_like(order).scatter_(0, order, arange(count));   // 0 = most salient
        long foreground = Math.Max(1, (long)Math.Round(options.ForegroundFraction * count));
        long probable = (long)Math.Round(options.ProbableForegroundFraction * count);
        long background = count - (long)Math.Round(options.BackgroundFraction * count);
        var labels = full(count, (byte)SeedLabel.ProbablyBackground, ScalarType.Byte);
        labels.masked_fill_(rank.lt(probable), (byte)SeedLabel.ProbablyForeground);
        labels.masked_fill_(rank.lt(foreground), (byte)SeedLabel.Foreground);
        labels.masked_fill_(rank.ge(background), (byte)SeedLabel.Background);
        return labels.reshape(saliency.shape).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The bounding box of the <paramref name="fraction"/> most salient pixels of <paramref name="saliency"/> (H x W; ties
    /// by rank). It never covers the outermost ring of pixels: GrabCut must see some background to learn its colours.
    /// </summary>
    public static Box SalientBox(Tensor saliency, double fraction)
    {
        if (fraction is <= 0 or > 1)
            throw new ArgumentOutOfRangeException(nameof(fraction), $"The fraction of pixels must lie in (0, 1]; got {fraction}.");
        if (saliency.dim() != 2 || saliency.shape[0] < 3 || saliency.shape[1] < 3)
            throw new ArgumentException($"Expected a saliency map H x W of at least 3 x 3 pixels; got [{string.Join(", ", saliency.shape)}].", nameof(saliency));
        using var scope = NewDisposeScope();
        long height = saliency.shape[0], width = saliency.shape[1];
        var flat = saliency.detach().cpu().to_type(ScalarType.Float32).flatten();
        long count = Math.Max(1, (long)Math.Round(fraction * flat.shape[0]));
        var chosen = flat.sort(0, descending: true, stable: true).Indices[..(int)count];
        var rows = chosen.div(width, rounding_mode: RoundingMode.floor);
        var columns = chosen.remainder(width);
        long top = Math.Max(1, rows.min().item<long>()), bottom = Math.Min(height - 2, rows.max().item<long>());
        long left = Math.Max(1, columns.min().item<long>()), right = Math.Min(width - 2, columns.max().item<long>());
        // Salient pixels only on the outer ring give an empty range: keep the nearest inner pixel.
        bottom = Math.Max(bottom, top);
        right = Math.Max(right, left);
        return new Box(left, top, right - left + 1, bottom - top + 1);
    }

    /// <summary>GrabCut's box start: sure background outside <paramref name="box"/>, probably object inside.</summary>
    static Tensor BoxSeeds(Box box, long height, long width)
    {
        using var scope = NewDisposeScope();
        var seeds = full(height, width, (byte)SeedLabel.Background, ScalarType.Byte);
        seeds[(int)box.Top..(int)(box.Top + box.Height), (int)box.Left..(int)(box.Left + box.Width)] = (byte)SeedLabel.ProbablyForeground;
        return seeds.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Intersection over union of two H x W masks (values above 0.5 count as inside): the pixels in both over the pixels
    /// in either; 1 for a perfect match, 0 for none. Two empty masks agree perfectly (1).
    /// </summary>
    public static float IntersectionOverUnion(Tensor mask, Tensor truth)
    {
        if (mask.dim() != 2 || !mask.shape.SequenceEqual(truth.shape))
            throw new ArgumentException($"Both masks must be H x W of the same size; got [{string.Join(", ", mask.shape)}] and [{string.Join(", ", truth.shape)}].", nameof(truth));
        using var scope = NewDisposeScope();
        var a = mask.detach().cpu().gt(0.5);
        var b = truth.detach().cpu().gt(0.5);
        var union = a.logical_or(b).sum().item<long>();
        return union == 0 ? 1f : a.logical_and(b).sum().item<long>() / (float)union;
    }

    /// <summary>OpenCV's GrabCut on H x W x 3 bytes, started from a seed mask; returns the final label of each pixel.</summary>
    static byte[] GrabCut(byte[] hwc, byte[] seeds, int height, int width, int iterations, int seed)
    {
        using var image = new Mat(height, width, MatType.CV_8UC3);
        using var mask = new Mat(height, width, MatType.CV_8UC1);
        Marshal.Copy(hwc, 0, image.Data, hwc.Length);
        Marshal.Copy(seeds, 0, mask.Data, seeds.Length);
        using var backgroundModel = new Mat();
        using var foregroundModel = new Mat();
        Cv2.SetTheRNG((ulong)seed);   // GrabCut's k-means draws from OpenCV's generator of this thread
        Cv2.GrabCut(image, mask, new Rect(), backgroundModel, foregroundModel, iterations, GrabCutModes.InitWithMask);
        var labels = new byte[height * width];
        Marshal.Copy(mask.Data, labels, 0, labels.Length);
        return labels;
    }

    static byte[] ToBytes(Tensor hwc)
    {
        using var bytes = hwc.clamp(0, 1).mul(255).round().to_type(ScalarType.Byte).contiguous();
        return bytes.data<byte>().ToArray();
    }
}
