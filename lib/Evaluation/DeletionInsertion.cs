using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using WhatNetworksLearn.Synthesis;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Evaluation;

/// <summary>Settings of <see cref="DeletionInsertion"/>.</summary>
/// <param name="Steps">Points of the curve after the start: step k has k / Steps of the pixels moved.</param>
/// <param name="BlurSigma">
/// The blurred image that insertion starts from and deletion moves pixels to, as a fraction of the image's shorter side
/// (Petsiuk et al. insert into a blurred image, so the start holds no edges to find; 0: a black image).
/// </param>
/// <param name="BatchSize">Images of the curve per forward pass.</param>
public sealed record DeletionInsertionOptions(int Steps = 28, double BlurSigma = 0, int BatchSize = 128)
{
    public void Validate()
    {
        if (Steps < 1)
            throw new ArgumentOutOfRangeException(nameof(Steps), $"A curve needs at least 1 step; got {Steps}.");
        if (!(BlurSigma >= 0) || double.IsInfinity(BlurSigma))
            throw new ArgumentOutOfRangeException(nameof(BlurSigma), $"The blur is a fraction of the image's side, 0 or more; got {BlurSigma}.");
        if (BatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(BatchSize), $"The batch size must be at least 1; got {BatchSize}.");
    }
}

/// <summary>
/// One curve per image: the class probability after each step (N x (Steps + 1)), the fraction of pixels moved at each
/// step (Steps + 1, from 0 to 1), and the area under each image's curve (N).
/// </summary>
public sealed record FaithfulnessCurves(Tensor Probabilities, double[] Fractions, double[] Areas) : IDisposable
{
    /// <summary>The mean area over the images.</summary>
    public double MeanArea => Areas.Average();

    /// <summary>The mean curve over the images (Steps + 1).</summary>
    public double[] MeanCurve => Probabilities.mean([0]).to_type(ScalarType.Float64).data<double>().ToArray();

    public void Dispose() => Probabilities.Dispose();
}

/// <summary>
/// Does a map rank first the pixels the network needs most? Deletion and insertion (Petsiuk, Das and Saenko, 2018)
/// answer by acting on the map's order. <b>Deletion</b> replaces the pixels with a neutral value (black, or a blurred
/// copy) in the map's order, most important first, and follows the class probability: a faithful map makes it fall
/// at once, so the area under the curve is small. <b>Insertion</b> starts from the neutral image and puts the pixels
/// back in the same order: a faithful map makes the probability rise at once, a large area. Any map of the image's
/// height and width works (attribution magnitudes per pixel, a Grad-CAM map enlarged, a random map as the control);
/// ties keep the pixels' reading order. A pixel's channels move together.
/// </summary>
public static class DeletionInsertion
{
    /// <summary>Deletion curves of <paramref name="maps"/> (N x H x W, larger = more important) for each image's target class.</summary>
    public static FaithfulnessCurves Deletion(VisionModel model, Tensor pixels, Tensor maps, Targets targets, DeletionInsertionOptions? options = null) =>
        Curves(model, pixels, maps, targets, options ?? new DeletionInsertionOptions(), deleting: true);

    /// <summary>Insertion curves of <paramref name="maps"/> (N x H x W, larger = more important) for each image's target class.</summary>
    public static FaithfulnessCurves Insertion(VisionModel model, Tensor pixels, Tensor maps, Targets targets, DeletionInsertionOptions? options = null) =>
        Curves(model, pixels, maps, targets, options ?? new DeletionInsertionOptions(), deleting: false);

    static FaithfulnessCurves Curves(VisionModel model, Tensor pixels, Tensor maps, Targets targets, DeletionInsertionOptions options, bool deleting)
    {
        options.Validate();
        model.CheckInput(pixels);
        targets.CheckClasses(model, pixels.shape[0]);
        long n = pixels.shape[0], height = pixels.shape[2], width = pixels.shape[3];
        if (maps.dim() != 3 || maps.shape[0] != n || maps.shape[1] != height || maps.shape[2] != width)
            throw new ArgumentException($"Expected one map per image, N x H x W = {n} x {height} x {width}; got [{string.Join(", ", maps.shape)}]. " +
                "Attributions.PerPixel turns N x C x H x W attributions into such maps.", nameof(maps));
        using var scope = NewDisposeScope();
        using var mode = model.EvaluationMode();
        var images = pixels.detach().to(ScalarType.Float32, model.Device);
        var neutral = options.BlurSigma == 0 ? zeros_like(images)
            : ImageFilters.GaussianBlur(images, options.BlurSigma * Math.Min(height, width));
        int steps = options.Steps;
        long count = height * width;
        var fractions = Enumerable.Range(0, steps + 1).Select(k => (double)k / steps).ToArray();
        // Pixels moved at step k: the first round(k / steps · H·W) of the map's order.
        var moved = tensor(fractions.Select(f => (long)Math.Round(f * count)).ToArray(), device: model.Device).reshape(-1, 1);
        var rows = new List<Tensor>();
        using var progress = ProgressDisplay.Start(deleting ? "Deletion" : "Insertion", (int)n);
        for (long i = 0; i < n; i++)
        {
            using var imageScope = NewDisposeScope();
            // rank[p] = the place of pixel p in the map's order (0: most important); stable, so ties keep reading order.
            var order = maps[i].flatten().to(ScalarType.Float64).cpu().sort(0, descending: true, stable: true).Indices.to(model.Device);
            var rank = empty_like(order).index_put_(arange(count, device: model.Device), order);
            var gone = (rank.unsqueeze(0) < moved).to(ScalarType.Float32).reshape(steps + 1, 1, height, width);   // 1 where moved
            var shown = deleting ? 1 - gone : gone;
            var curve = new List<Tensor>();
            for (long start = 0; start <= steps; start += options.BatchSize)
            {
                long size = Math.Min(options.BatchSize, steps + 1 - start);
                var mask = shown.narrow(0, start, size);
                var mixed = images[i].unsqueeze(0) * mask + neutral[i].unsqueeze(0) * (1 - mask);
                curve.Add(model.Probabilities(mixed)[.., targets[i]]);
            }
            rows.Add(cat(curve).cpu().MoveToOuterDisposeScope());
            progress.Report((int)(i + 1));
        }
        var probabilities = stack(rows).to_type(ScalarType.Float64);
        var areas = Enumerable.Range(0, (int)n).Select(i => Area(probabilities[i].data<double>().ToArray(), fractions)).ToArray();
        return new FaithfulnessCurves(probabilities.MoveToOuterDisposeScope(), fractions, areas);
    }

    /// <summary>The area under a curve by the trapezoid rule.</summary>
    public static double Area(double[] values, double[] at)
    {
        if (values.Length != at.Length || values.Length < 2)
            throw new ArgumentException($"Give a value for every point, at least two; got {values.Length} values at {at.Length} points.", nameof(values));
        double area = 0;
        for (int k = 1; k < values.Length; k++)
            area += (at[k] - at[k - 1]) * (values[k] + values[k - 1]) / 2;
        return area;
    }
}
