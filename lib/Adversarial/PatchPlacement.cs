using static TorchSharp.torch;

namespace WhatNetworksLearn.Adversarial;

/// <summary>
/// Where and how a patch sits in one image: its centre in pixel units (x from the left edge, y from the top edge; pixel
/// (row r, column c) covers [c, c+1) x [r, r+1)), the factor by which its side is enlarged, and the angle it is turned by
/// (degrees, clockwise on the screen).
/// </summary>
public sealed record PatchPlacement(double CenterX, double CenterY, double Scale = 1, double Degrees = 0)
{
    /// <summary>An unturned, unscaled patch of <paramref name="patchSize"/> pixels whose top-left pixel is (<paramref name="left"/>, <paramref name="top"/>).</summary>
    public static PatchPlacement AtTopLeft(int left, int top, int patchSize) => new(left + patchSize / 2.0, top + patchSize / 2.0);

    /// <summary>
    /// Half the side of the smallest axis-aligned square around the placed patch: the turned square reaches
    /// (side / 2)(|cos| + |sin|) from its centre in x and in y.
    /// </summary>
    public double HalfExtent(int patchSize)
    {
        double radians = Degrees * Math.PI / 180;
        return patchSize * Scale / 2 * (Math.Abs(Math.Cos(radians)) + Math.Abs(Math.Sin(radians)));
    }
}

/// <summary>
/// Pasting a patch into images with a differentiable resampling (affine grid + bilinear sampling), so the gradient of
/// anything computed from the pasted images flows back into the patch's pixels. Each pixel's centre is mapped into the
/// patch and the patch is read there by bilinear interpolation (zero outside it); the same reading of a patch of ones
/// is the mask, the patch's weight in that pixel, and the pasted pixel is image x (1 - mask) + the patch's reading.
/// Unturned at scale 1 and a whole-pixel position, that copies the patch exactly; turned, scaled or between pixels, its
/// edges blend with the image over about a pixel (the mask still adds up to about the patch's area). Pixels further
/// away are left exactly as they were.
/// </summary>
public static class PatchPasting
{
    /// <summary>
    /// The images (N x C x H x W) with the patch (C x P x P, or 1 x C x P x P) pasted into image i at
    /// <paramref name="placements"/>[i]. Differentiable with respect to the images and the patch.
    /// </summary>
    public static Tensor Paste(Tensor images, Tensor patch, IReadOnlyList<PatchPlacement> placements)
    {
        using var scope = NewDisposeScope();
        var (pasted, _) = PasteWithMask(images, patch, ToTensors(placements, images.shape[0], images.device));
        return pasted.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The patch's weight in each pixel (N x 1 x H x W, 1 inside the patch, 0 away from it, in between on its edges)
    /// for images of <paramref name="height"/> x <paramref name="width"/> pixels: how much of each pixel <see cref="Paste"/> replaces.
    /// </summary>
    public static Tensor Mask(long height, long width, int patchSize, IReadOnlyList<PatchPlacement> placements, Device? device = null)
    {
        if (patchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(patchSize), $"The patch must be at least 1 pixel wide; got {patchSize}.");
        using var scope = NewDisposeScope();
        var grid = Grid(ToTensors(placements, placements.Count, device ?? CPU), patchSize, height, width);
        return Sample(ones(placements.Count, 1, patchSize, patchSize, ScalarType.Float64, grid.device), grid)
            .to_type(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <summary>Placements as four vectors of N (centre x, centre y, scale, radians), float64, on one device.</summary>
    internal sealed record Placements(Tensor CenterX, Tensor CenterY, Tensor Scale, Tensor Radians)
    {
        public IReadOnlyList<PatchPlacement> ToList()
        {
            double[] x = Values(CenterX), y = Values(CenterY), s = Values(Scale), r = Values(Radians);
            return Enumerable.Range(0, x.Length).Select(i => new PatchPlacement(x[i], y[i], s[i], r[i] * 180 / Math.PI)).ToList();
        }

        static double[] Values(Tensor t) => t.cpu().data<double>().ToArray();
    }

    /// <summary>
    /// Random placements for <paramref name="count"/> images of <paramref name="height"/> x <paramref name="width"/>:
    /// a scale uniform in [MinScale, MaxScale], an angle uniform in ±MaxDegrees (of <paramref name="options"/>), and a centre uniform over the positions
    /// where the whole turned, scaled patch lies inside the image. All drawn from <paramref name="random"/> (a CPU generator).
    /// </summary>
    internal static Placements Draw(int count, long height, long width, PatchOptions options, Generator random, Device device)
    {
        int patchSize = options.PatchSize;
        double minScale = options.MinScale, maxScale = options.MaxScale, maxDegrees = options.MaxDegrees;
        using var scope = NewDisposeScope();
        var uniform = rand(new long[] { 4, count }, ScalarType.Float64, generator: random);
        var scale = minScale + (maxScale - minScale) * uniform[0];
        var radians = (2 * uniform[1] - 1) * (maxDegrees * Math.PI / 180);
        var half = patchSize * scale / 2 * (radians.cos().abs() + radians.sin().abs());
        // Tiny slack so rounding never lets a corner stick out when the patch exactly fits.
        var margin = half + 1e-9;
        var centerX = margin + (width - 2 * margin).clamp_min(0) * uniform[2];
        var centerY = margin + (height - 2 * margin).clamp_min(0) * uniform[3];
        return new Placements(centerX.to(device).MoveToOuterDisposeScope(), centerY.to(device).MoveToOuterDisposeScope(),
            scale.to(device).MoveToOuterDisposeScope(), radians.to(device).MoveToOuterDisposeScope());
    }

    /// <summary>The pasted images (same dtype as <paramref name="images"/>) and the mask N x 1 x H x W (float64).</summary>
    internal static (Tensor Pasted, Tensor Mask) PasteWithMask(Tensor images, Tensor patch, Placements placements)
    {
        if (images.dim() != 4)
            throw new ArgumentException($"Expected images N x C x H x W; got [{string.Join(", ", images.shape)}]. Add a batch dimension with unsqueeze(0) for one image.", nameof(images));
        if (patch.dim() == 4 && patch.shape[0] == 1)
            patch = patch[0];
        if (patch.dim() != 3 || patch.shape[1] != patch.shape[2])
            throw new ArgumentException($"Expected a square patch C x P x P; got [{string.Join(", ", patch.shape)}].", nameof(patch));
        long n = images.shape[0], channels = images.shape[1], height = images.shape[2], width = images.shape[3], size = patch.shape[1];
        if (patch.shape[0] != channels)
            throw new ArgumentException($"The patch has {patch.shape[0]} channel(s) but the images have {channels}; make a patch with the images' channels.", nameof(patch));
        if (size > height || size > width)
            throw new ArgumentException($"A patch of {size} x {size} pixels does not fit into images of {height} x {width}; use a smaller patch.", nameof(patch));
        if (placements.CenterX.shape[0] != n)
            throw new ArgumentException($"Expected one placement per image ({n}); got {placements.CenterX.shape[0]}.", nameof(placements));

        // Sampling in float64 keeps the weights exact at integer positions: uncovered pixels stay bit-for-bit the same.
        var grid = Grid(placements, (int)size, height, width);
        var source = patch.to(ScalarType.Float64).unsqueeze(0).expand(n, channels, size, size);
        var sampled = Sample(source, grid);
        var mask = Sample(ones(n, 1, size, size, ScalarType.Float64, images.device), grid);
        var pasted = images.to(ScalarType.Float64) * (1 - mask) + sampled;
        return (pasted.to_type(images.dtype), mask);
    }

    static Placements ToTensors(IReadOnlyList<PatchPlacement> placements, long count, Device device)
    {
        if (placements.Count != count)
            throw new ArgumentException($"Expected one placement per image ({count}); got {placements.Count}.", nameof(placements));
        foreach (var p in placements)
            if (!(p.Scale > 0) || !double.IsFinite(p.Scale) || !double.IsFinite(p.CenterX) || !double.IsFinite(p.CenterY) || !double.IsFinite(p.Degrees))
                throw new ArgumentException($"A placement needs finite numbers and a positive scale; got {p}.", nameof(placements));
        Tensor Column(Func<PatchPlacement, double> pick) => tensor(placements.Select(pick).ToArray(), ScalarType.Float64, device);
        return new Placements(Column(p => p.CenterX), Column(p => p.CenterY), Column(p => p.Scale), Column(p => p.Degrees * Math.PI / 180));
    }

    /// <summary>
    /// For every output pixel, where to read the patch, in the patch's normalised coordinates [-1, 1] (N x H x W x 2).
    /// An output pixel centre p maps to the patch point R(-angle)(p - centre) / scale + P/2; written as one affine map of
    /// the output's normalised coordinates, so affine_grid builds the whole grid at once.
    /// </summary>
    static Tensor Grid(Placements placements, int patchSize, long height, long width)
    {
        var cos = placements.Radians.cos();
        var sin = placements.Radians.sin();
        var k = 2.0 / (patchSize * placements.Scale);
        var offsetX = width / 2.0 - placements.CenterX;
        var offsetY = height / 2.0 - placements.CenterY;
        var theta = stack(new[]
        {
            k * cos * (width / 2.0), k * sin * (height / 2.0), k * (cos * offsetX + sin * offsetY),
            -k * sin * (width / 2.0), k * cos * (height / 2.0), k * (cos * offsetY - sin * offsetX),
        }, 1).reshape(-1, 2, 3);
        long n = placements.CenterX.shape[0];
        return nn.functional.affine_grid(theta, new long[] { n, 1, height, width }, align_corners: false);
    }

    static Tensor Sample(Tensor source, Tensor grid) =>
        nn.functional.grid_sample(source, grid, GridSampleMode.Bilinear, GridSamplePaddingMode.Zeros, align_corners: false);
}
