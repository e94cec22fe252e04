using TorchSharp;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Synthesis;

/// <summary>
/// A change applied to the images before every forward pass, through which the gradient flows back. Random ones
/// (shift, zoom, turn) ask the network for a result that survives small changes of the image, which removes the
/// pixel-level noise a network also responds to. All randomness comes from the generator the loop passes in.
/// </summary>
public interface ITransform
{
    Tensor Apply(Tensor images, Generator random);
}

/// <summary>
/// Shifts the images by a random offset of up to <paramref name="Pixels"/> in each direction, wrapping around the
/// edges (a roll). The gradient is rolled back by the same offset, so the jitter never moves the result itself.
/// </summary>
public sealed record Jitter(int Pixels) : ITransform
{
    public Tensor Apply(Tensor images, Generator random)
    {
        if (Pixels < 0)
            throw new ArgumentOutOfRangeException(nameof(Pixels), $"Jitter must be 0 pixels or more; got {Pixels}.");
        if (Pixels == 0)
            return images;
        long dy = Draw.Integer(random, -Pixels, Pixels), dx = Draw.Integer(random, -Pixels, Pixels);
        return images.roll([dy, dx], [2, 3]);
    }
}

/// <summary>
/// Zooms the images by a random factor between <paramref name="Min"/> and <paramref name="Max"/> about their centre,
/// keeping their size (edges filled by reflection).
/// </summary>
public sealed record RandomScale(double Min = 0.95, double Max = 1.05) : ITransform
{
    public Tensor Apply(Tensor images, Generator random)
    {
        if (!(Min > 0 && Max >= Min))
            throw new ArgumentOutOfRangeException(nameof(Min), $"Scale factors must be positive with Min <= Max; got {Min} to {Max}.");
        double factor = Min + (Max - Min) * Draw.Uniform(random);
        return Resample.Alike(images, 0, factor);
    }
}

/// <summary>Turns the images by a random angle of up to <paramref name="Degrees"/> either way about their centre, keeping their size.</summary>
public sealed record RandomRotation(double Degrees = 5) : ITransform
{
    public Tensor Apply(Tensor images, Generator random)
    {
        if (Degrees < 0)
            throw new ArgumentOutOfRangeException(nameof(Degrees), $"The rotation range must be 0 degrees or more; got {Degrees}.");
        double angle = (2 * Draw.Uniform(random) - 1) * Degrees * Math.PI / 180;
        return Resample.Alike(images, angle, 1);
    }
}

/// <summary>
/// Enlarges images smaller than <paramref name="Height"/> x <paramref name="Width"/> to that size by mirroring them
/// at their edges, the image in the centre. For networks that only take one input size (the ResNet-18 trunk takes
/// 224 x 224): the network sees the small image at its own scale, surrounded by reflections of itself.
/// </summary>
public sealed record ReflectToSize(int Height, int Width) : ITransform
{
    public Tensor Apply(Tensor images, Generator random) => Apply(images);

    /// <summary>The same, without randomness (there is none).</summary>
    public Tensor Apply(Tensor images)
    {
        long height = images.shape[2], width = images.shape[3];
        if (height > Height || width > Width)
            throw new ArgumentException($"The images ({height} x {width}) are larger than {Height} x {Width}: reflecting can only enlarge.", nameof(images));
        var result = images;
        // Reflection can add at most (size - 1) pixels per side at once, so small images are mirrored in rounds.
        while (result.shape[2] < Height || result.shape[3] < Width)
        {
            long h = result.shape[2], w = result.shape[3];
            long top = Math.Min((Height - h + 1) / 2, h - 1), bottom = Math.Min(Height - h - top, h - 1);
            long left = Math.Min((Width - w + 1) / 2, w - 1), right = Math.Min(Width - w - left, w - 1);
            if (top + bottom + left + right == 0)
                throw new ArgumentException($"Images of {h} x {w} pixels are too small to be mirrored up to {Height} x {Width}.", nameof(images));
            result = nn.functional.pad(result, [left, right, top, bottom], PaddingModes.Reflect);
        }
        return result;
    }
}

/// <summary>Random numbers from a generator the caller seeded.</summary>
static class Draw
{
    /// <summary>An integer from <paramref name="low"/> to <paramref name="high"/>, both included.</summary>
    public static long Integer(Generator random, long low, long high)
    {
        using var value = randint(low, high + 1, [1], generator: random);
        return value.item<long>();
    }

    /// <summary>A number in [0, 1).</summary>
    public static double Uniform(Generator random)
    {
        using var value = rand([1], generator: random, dtype: ScalarType.Float64);
        return value.item<double>();
    }
}

/// <summary>One angle and one zoom for the whole batch, so that a batch gives what its images give one by one.</summary>
static class Resample
{
    /// <summary>Every image turned by <paramref name="radians"/> and enlarged by <paramref name="scale"/> (bilinear, edges reflected).</summary>
    public static Tensor Alike(Tensor images, double radians, double scale)
    {
        using var scope = NewDisposeScope();
        long n = images.shape[0];
        return ImageFilters.RotateAndZoom(images, full(n, radians, ScalarType.Float64), full(n, scale, ScalarType.Float64), GridSamplePaddingMode.Reflection)
            .MoveToOuterDisposeScope();
    }
}
