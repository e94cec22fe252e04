using TorchSharp;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Synthesis;

/// <summary>
/// The kit's one Gaussian blur and one rotate-and-zoom, on batches of images (N x C x H x W), differentiable. The
/// synthesis regulariser and random transforms (<see cref="Blur"/>, <see cref="RandomScale"/>, <see cref="RandomRotation"/>),
/// the steps of the print-and-photo pipeline (notebook 15) and the blur of saliency segmentation (notebook 08) all
/// call these; only how the edges are filled differs between them.
/// </summary>
public static class ImageFilters
{
    /// <summary>
    /// The normalised 1-D Gaussian kernel of standard deviation <paramref name="sigma"/> pixels, computed in
    /// <paramref name="type"/> (sums to 1): exp(−i² / 2σ²) for i from −r to r, r = ⌈3σ⌉ unless <paramref name="radius"/>
    /// cuts it shorter. The 2-D blur is its outer product. σ = 0 gives the kernel [1].
    /// </summary>
    public static Tensor GaussianKernel(double sigma, int? radius = null, ScalarType type = ScalarType.Float32) =>
        Kernel(sigma, radius ?? Radius(sigma), type);

    /// <summary>
    /// Each channel of each image blurred by a Gaussian of <paramref name="sigma"/> pixels (separable, kernel radius
    /// ⌈3σ⌉), the border filled by <paramref name="padding"/>: replicated edge pixels, or a reflection (the radius is
    /// then cut to fit images smaller than the kernel). σ = 0 gives a copy of the images.
    /// </summary>
    /// <remarks>
    /// The blur is two matrix products, one per axis, with the border folded into the matrices (<see cref="BlurMatrix"/>),
    /// not a convolution: oneDNN 3.7's AVX-512 kernel for single-channel convolutions, which a per-channel blur would
    /// use, returns wrong input gradients at random (environment/README.md, "Problem 3"), and attacks that average
    /// over a blurred camera take their gradient through this blur.
    /// </remarks>
    public static Tensor GaussianBlur(Tensor images, double sigma, PaddingModes padding = PaddingModes.Replicate)
    {
        CheckImages(images);
        if (padding is not (PaddingModes.Replicate or PaddingModes.Reflect))
            throw new ArgumentException($"The blur fills the border by replicating or reflecting the edge; got {padding}.", nameof(padding));
        using var scope = NewDisposeScope();
        int radius = Radius(sigma);
        if (padding == PaddingModes.Reflect)
            radius = (int)Math.Min(radius, Math.Min(images.shape[2], images.shape[3]) - 1);   // reflection needs the image to be wider than the padding
        if (radius < 1)
            return images.clone().MoveToOuterDisposeScope();
        var kernel = Kernel(sigma, radius, images.dtype).to(images.device);
        var columns = BlurMatrix(kernel, images.shape[3], padding);   // W x W
        var rows = BlurMatrix(kernel, images.shape[2], padding);      // H x H
        return rows.matmul(images.matmul(columns.t())).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The n x n matrix that blurs a line of n pixels with <paramref name="kernel"/> (2r + 1 weights): row j holds the
    /// weights of output pixel j; a tap that falls outside the line lands on the pixel the border mode repeats there
    /// (replicate: the nearest edge pixel; reflect: the mirror image without repeating the edge), so its weight adds to
    /// that pixel and every row still sums to 1.
    /// </summary>
    static Tensor BlurMatrix(Tensor kernel, long n, PaddingModes padding)
    {
        using var scope = NewDisposeScope();
        long radius = kernel.shape[0] / 2;
        var taps = arange(n, device: kernel.device).unsqueeze(1) + arange(-radius, radius + 1, device: kernel.device);   // n x (2r + 1)
        var source = padding == PaddingModes.Replicate
            ? taps.clamp(0, n - 1)
            : where(taps < 0, -taps, where(taps > n - 1, 2 * (n - 1) - taps, taps));
        return zeros(n, n, dtype: kernel.dtype, device: kernel.device)
            .scatter_add_(1, source, kernel.expand(n, -1).contiguous()).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Each image turned about its centre by <paramref name="radians"/>[i] (positive: anticlockwise on the screen) and
    /// enlarged by <paramref name="scales"/>[i], keeping its size: output pixel p samples the input at R(angle) p / scale
    /// (bilinear), the border filled by <paramref name="padding"/>. Angles and scales are vectors of N (any float type).
    /// </summary>
    public static Tensor RotateAndZoom(Tensor images, Tensor radians, Tensor scales, GridSamplePaddingMode padding)
    {
        CheckImages(images);
        if (radians.numel() != images.shape[0] || scales.numel() != images.shape[0])
            throw new ArgumentException($"Give one angle and one scale per image ({images.shape[0]}); got {radians.numel()} angles and {scales.numel()} scales.");
        using var scope = NewDisposeScope();
        var angle = radians.to(ScalarType.Float64, images.device).flatten();
        var scale = scales.to(ScalarType.Float64, images.device).flatten();
        // In coordinates normalised to [-1, 1]; the aspect ratio turns the images in pixels rather than in normalised units.
        double aspect = (double)images.shape[2] / images.shape[3];
        var cos = angle.cos() / scale;
        var sin = angle.sin() / scale;
        var zero = zeros_like(cos);
        var theta = stack([cos, -sin * aspect, zero, sin / aspect, cos, zero], 1).reshape(-1, 2, 3).to_type(images.dtype);
        var grid = nn.functional.affine_grid(theta, images.shape, align_corners: false);
        return nn.functional.grid_sample(images, grid, GridSampleMode.Bilinear, padding, align_corners: false).MoveToOuterDisposeScope();
    }

    static int Radius(double sigma)
    {
        if (!(sigma >= 0) || double.IsInfinity(sigma))
            throw new ArgumentOutOfRangeException(nameof(sigma), $"The blur's standard deviation must be a number of pixels, 0 or more; got {sigma}.");
        return (int)Math.Ceiling(3 * sigma);
    }

    /// <summary>The normalised kernel, in the precision of the images it blurs.</summary>
    static Tensor Kernel(double sigma, int radius, ScalarType type)
    {
        if (radius < 1 || sigma == 0)
            return ones(1, type);
        using var scope = NewDisposeScope();
        var offsets = arange(-radius, radius + 1, dtype: type);
        var kernel = (-offsets.square() / (2 * sigma * sigma)).exp();
        return (kernel / kernel.sum()).MoveToOuterDisposeScope();
    }

    static void CheckImages(Tensor images)
    {
        if (images.dim() != 4)
            throw new ArgumentException($"Expected a batch of images N x C x H x W; got [{string.Join(", ", images.shape)}]. Add a batch dimension with unsqueeze(0) for one image.", nameof(images));
    }
}
