using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Evaluation;

/// <summary>Settings of <see cref="Road"/>.</summary>
/// <param name="Fractions">
/// The shares of the pixels removed, the points of each curve: increasing, each at least 0 and below 1 (something must
/// stay to interpolate from). Null: 0, 0.1, …, 0.9.
/// </param>
/// <param name="Noise">Standard deviation of the Gaussian noise added to every imputed pixel (Rong et al.'s imputer: 0.01).</param>
/// <param name="Seed">Seed of the noise (one noise image, the same for every image and fraction) and of the order among pixels the map ties.</param>
/// <param name="BatchSize">Images per linear solve and per forward pass (the points of all the images' curves go through together).</param>
public sealed record RoadOptions(double[]? Fractions = null, double Noise = 0.01, int Seed = 0, int BatchSize = 256)
{
    /// <summary>The fractions the curves are measured at.</summary>
    public double[] RemovedFractions => Fractions ?? [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

    public void Validate()
    {
        var fractions = RemovedFractions;
        if (fractions.Length < 2)
            throw new ArgumentOutOfRangeException(nameof(Fractions), $"A curve needs at least 2 fractions; got {fractions.Length}.");
        if (fractions.Any(f => !(f >= 0 && f < 1)))
            throw new ArgumentOutOfRangeException(nameof(Fractions), $"Each fraction removed must be at least 0 and below 1 (ROAD interpolates from the pixels left); got {string.Join(", ", fractions)}.");
        if (fractions.Zip(fractions.Skip(1)).Any(p => p.Second <= p.First))
            throw new ArgumentOutOfRangeException(nameof(Fractions), $"The fractions must increase; got {string.Join(", ", fractions)}.");
        if (!(Noise >= 0) || double.IsInfinity(Noise))
            throw new ArgumentOutOfRangeException(nameof(Noise), $"The noise is a standard deviation, 0 or more; got {Noise}.");
        if (BatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(BatchSize), $"The batch size must be at least 1; got {BatchSize}.");
    }
}

/// <summary>
/// ROAD, RemOve And Debias (Rong, Leemann, Borisov, Kasneci and Kasneci, 2022): deletion's question (does the map rank
/// first the pixels the network needs?) asked without deletion's flaw. Painting pixels black makes images the network
/// never saw, and the shape of the black hole alone can move the probability. ROAD removes the pixels in the map's order
/// and fills each one with a <b>noisy linear imputation</b>: the value that equals the weighted mean of its eight
/// neighbours (direct neighbours 1/6, diagonal ones 1/12; along the border, the mean of the neighbours inside the
/// image), solved for all removed pixels together with the kept pixels fixed, plus a little Gaussian noise. The filled
/// image stays smooth and plausible, so what the probability loses is the evidence, not the realism.
/// <b>MoRF</b> (most relevant first) removes the map's top pixels first: a faithful map makes the probability fall
/// fast, a small area. <b>LeRF</b> (least relevant first) removes its bottom pixels first: a faithful map keeps the
/// probability up, a large area. A pixel's channels are removed together; each channel is filled on its own.
/// </summary>
public static class Road
{
    const double Direct = 1.0 / 6, Diagonal = 1.0 / 12;

    /// <summary>The residual (each image's norm, so also every single equation's) at which the solve stops; pixel values are in [0,1].</summary>
    const double Tolerance = 1e-7;

    /// <summary>MoRF curves: <paramref name="maps"/> (N x H x W, larger = more important) removed from the top, for each image's target class.</summary>
    public static FaithfulnessCurves MostRelevantFirst(VisionModel model, Tensor pixels, Tensor maps, Targets targets, RoadOptions? options = null) =>
        Curves(model, pixels, maps, targets, options ?? new RoadOptions(), mostRelevantFirst: true);

    /// <summary>LeRF curves: <paramref name="maps"/> (N x H x W, larger = more important) removed from the bottom, for each image's target class.</summary>
    public static FaithfulnessCurves LeastRelevantFirst(VisionModel model, Tensor pixels, Tensor maps, Targets targets, RoadOptions? options = null) =>
        Curves(model, pixels, maps, targets, options ?? new RoadOptions(), mostRelevantFirst: false);

    /// <summary>
    /// The images (N x C x H x W, in [0,1]) with the <paramref name="removed"/> pixels (N x 1 x H x W, 1 = removed, at
    /// least one pixel kept per image) filled by the noisy linear imputation, the options' noise and seed; clamped to [0,1].
    /// </summary>
    public static Tensor Impute(Tensor pixels, Tensor removed, RoadOptions? options = null)
    {
        options ??= new RoadOptions();
        options.Validate();
        if (pixels.dim() != 4 || !pixels.is_floating_point())
            throw new ArgumentException($"Expected images N x C x H x W with floating-point pixels; got {pixels.dtype} [{string.Join(", ", pixels.shape)}].", nameof(pixels));
        PixelRange.Check(pixels, "ROAD's imputation", nameof(pixels));
        long n = pixels.shape[0], height = pixels.shape[2], width = pixels.shape[3];
        if (removed.dim() != 4 || removed.shape[0] != n || removed.shape[1] != 1 || removed.shape[2] != height || removed.shape[3] != width)
            throw new ArgumentException($"Expected one mask per image, N x 1 x H x W = {n} x 1 x {height} x {width}; got [{string.Join(", ", removed.shape)}]. " +
                "FaithfulnessCurves.FirstPixels makes such masks from maps.", nameof(removed));
        using var scope = NewDisposeScope();
        if (!removed.eq(0).logical_or(removed.eq(1)).all().item<bool>())
            throw new ArgumentException("The mask holds values other than 0 (kept) and 1 (removed).", nameof(removed));
        if (removed.reshape(n, -1).min(1).values.eq(1).any().item<bool>())
            throw new ArgumentException("Some image has every pixel removed: keep at least one pixel to interpolate from.", nameof(removed));
        return Fill(pixels.detach().to_type(ScalarType.Float32), removed.to(ScalarType.Float32, pixels.device), options).MoveToOuterDisposeScope();
    }

    static FaithfulnessCurves Curves(VisionModel model, Tensor pixels, Tensor maps, Targets targets, RoadOptions options, bool mostRelevantFirst)
    {
        options.Validate();
        model.CheckInput(pixels);
        long count = pixels.shape[2] * pixels.shape[3];
        if (options.RemovedFractions.Any(f => Math.Round(f * count) >= count))
            throw new ArgumentOutOfRangeException(nameof(options), $"A fraction of {options.RemovedFractions.Max()} removes every one of the {count} pixels; keep at least one to interpolate from.");
        return FaithfulnessCurves.Measure(model, pixels, maps, targets, options.RemovedFractions, largestFirst: mostRelevantFirst, options.Seed, options.BatchSize,
            mostRelevantFirst ? "ROAD, most relevant first" : "ROAD, least relevant first", (images, removed) => Fill(images, removed, options));
    }

    /// <summary>Imputes a checked request: B x C x H x W images and B x 1 x H x W masks, float32 on one device.</summary>
    static Tensor Fill(Tensor images, Tensor removed, RoadOptions options)
    {
        using var scope = NewDisposeScope();
        long b = images.shape[0], c = images.shape[1], height = images.shape[2], width = images.shape[3];
        var mask = removed.expand(b, c, height, width).reshape(b * c, 1, height, width).to_type(ScalarType.Float64);
        var filled = NeighbourMeans(images.to_type(ScalarType.Float64).reshape(b * c, 1, height, width), mask).reshape(b, c, height, width);
        // One noise image for all: an image's result does not depend on the others in its batch.
        using var random = new Generator((ulong)options.Seed);
        var noise = randn(1, c, height, width, ScalarType.Float64, generator: random).to(images.device);
        // Filled values are means of values in [0,1], so only the noise can leave the range every image the network saw lies in.
        return (filled + options.Noise * noise * mask.reshape(b, c, height, width)).clamp(0, 1).to_type(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Solves, for each image (B x 1 x H x W, float64), the removed pixels' equations total_p · x_p = Σ_q w_pq x_q (q: the
    /// neighbours inside the image, total_p their weights' sum) with the kept pixels fixed, by conjugate gradients over
    /// the whole batch. With the kept neighbours moved to the right-hand side the system is the grid's graph Laplacian
    /// restricted to the removed pixels: symmetric, and positive definite as long as one pixel is kept.
    /// </summary>
    static Tensor NeighbourMeans(Tensor images, Tensor removed)
    {
        using var scope = NewDisposeScope();
        long height = images.shape[2], width = images.shape[3];
        var weights = tensor(new[] { Diagonal, Direct, Diagonal, Direct, 0, Direct, Diagonal, Direct, Diagonal }, ScalarType.Float64, images.device).reshape(1, 1, 3, 3);
        Tensor Neighbours(Tensor x) => nn.functional.conv2d(x, weights, padding: [1, 1]);   // Σ_q w_pq x_q; outside the image counts as absent
        var total = Neighbours(ones(1, 1, height, width, ScalarType.Float64, images.device));   // 1 inside, less along the border
        var removedTotal = removed * total;
        Tensor Apply(Tensor u) => (removedTotal * u).sub_(removed * Neighbours(u));   // zero outside the removed pixels
        var kept = images * (1 - removed);
        var solution = zeros_like(images);
        var residual = removed * Neighbours(kept);   // the right-hand side: what the kept neighbours give
        var direction = residual.clone();
        var squared = residual.square().sum([1, 2, 3], keepdim: true);   // each image's squared residual norm
        // Exact arithmetic needs at most one step per unknown; in practice the residual falls below the tolerance long
        // before. Images already solved (or with nothing removed) have squared = 0 and take steps of length 0.
        for (long step = 0; step < height * width && squared.max().item<double>() > Tolerance * Tolerance; step++)
        {
            using var stepScope = NewDisposeScope();
            var applied = Apply(direction);
            var length = squared / (direction * applied).sum([1, 2, 3], keepdim: true).clamp_min(double.Epsilon);
            solution.addcmul_(length, direction, 1);
            residual.addcmul_(length, applied, -1);
            var next = residual.square().sum([1, 2, 3], keepdim: true);
            direction.mul_(next / squared.clamp_min(double.Epsilon)).add_(residual);
            squared.copy_(next);
        }
        return (kept + solution).MoveToOuterDisposeScope();
    }
}
