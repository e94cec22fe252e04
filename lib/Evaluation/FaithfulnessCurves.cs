using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Evaluation;

/// <summary>
/// One curve per image: the class probability at each point (N x points), the fraction of pixels moved at each point
/// (from 0 to 1), and the area under each image's curve (N). Deletion, insertion and ROAD all give these.
/// </summary>
public sealed record FaithfulnessCurves(Tensor Probabilities, double[] Fractions, double[] Areas) : IDisposable
{
    /// <summary>The mean area over the images.</summary>
    public double MeanArea => Areas.Average();

    /// <summary>The mean curve over the images (one value per fraction).</summary>
    public double[] MeanCurve => Probabilities.mean([0]).to_type(ScalarType.Float64).data<double>().ToArray();

    /// <summary>
    /// How far this map's areas lie above <paramref name="other"/>'s on the same images: the mean of the per-image
    /// differences and its standard error (their standard deviation / √N), so that a lead can be told from noise.
    /// </summary>
    public (double Mean, double StandardError) AreaDifference(FaithfulnessCurves other)
    {
        if (other.Areas.Length != Areas.Length || Areas.Length < 2)
            throw new ArgumentException($"Compare curves of the same images, at least two; got {Areas.Length} and {other.Areas.Length}.", nameof(other));
        var differences = Areas.Zip(other.Areas, (a, b) => a - b).ToArray();
        double mean = differences.Average();
        double variance = differences.Sum(d => (d - mean) * (d - mean)) / (differences.Length - 1);
        return (mean, Math.Sqrt(variance / differences.Length));
    }

    public void Dispose() => Probabilities.Dispose();

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

    /// <summary>
    /// The pixels each map puts first: N x 1 x H x W, 1 on the first round(<paramref name="fraction"/> · H·W) pixels of
    /// each map's order (N x H x W maps; largest value first, or smallest first), 0 elsewhere. Pixels the map ties come
    /// in a random order drawn from <paramref name="seed"/>.
    /// </summary>
    public static Tensor FirstPixels(Tensor maps, double fraction, bool largestFirst = true, int seed = 0)
    {
        if (maps.dim() != 3)
            throw new ArgumentException($"Expected maps N x H x W; got [{string.Join(", ", maps.shape)}]. Attributions.PerPixel makes such maps.", nameof(maps));
        if (!(fraction >= 0 && fraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(fraction), $"A fraction of the pixels lies in [0, 1]; got {fraction}.");
        using var scope = NewDisposeScope();
        var ranks = Ranks(maps, largestFirst, seed);
        return (ranks < (long)Math.Round(fraction * ranks.shape[1])).to_type(ScalarType.Float32).reshape(maps.shape[0], 1, maps.shape[1], maps.shape[2])
            .to(maps.device).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// rank[i, p] = the place of pixel p in map i's order (0: first), N x H·W on the CPU. Ties come in one random order
    /// of the pixels, the same for every image: many maps are exactly 0 on much of the image (the black background under
    /// Integrated Gradients, the pixels a ReLU cuts off under Grad-CAM), and the reading order would remove such pixels
    /// row by row from the top, a pattern of its own.
    /// </summary>
    static Tensor Ranks(Tensor maps, bool largestFirst, int seed)
    {
        using var scope = NewDisposeScope();
        long n = maps.shape[0], count = maps.shape[1] * maps.shape[2];
        using var random = new Generator((ulong)seed);
        var shuffle = randperm(count, generator: random);
        var sorted = maps.detach().reshape(n, count).to(ScalarType.Float64).cpu().index_select(1, shuffle).sort(1, descending: largestFirst, stable: true).Indices;
        var order = shuffle.index_select(0, sorted.flatten()).reshape(n, count);
        return empty_like(order).scatter_(1, order, arange(count).expand(n, count)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The walk every faithfulness measure shares. At each fraction f, the first round(f · H·W) pixels of each image's
    /// map order are "moved" (ties in the order drawn from <paramref name="seed"/>); <paramref name="show"/> turns images (B x C x H x W) and their moved pixels (B x 1 x H x W,
    /// 1 = moved) into what the model sees, and each point of a curve is the probability of that image's target class.
    /// All (image, fraction) pairs go through the model together, <paramref name="batchSize"/> at a time, so an image's
    /// curve does not depend on the other images of the batch.
    /// </summary>
    internal static FaithfulnessCurves Measure(VisionModel model, Tensor pixels, Tensor maps, Targets targets, double[] fractions,
        bool largestFirst, int seed, int batchSize, string label, Func<Tensor, Tensor, Tensor> show)
    {
        model.CheckInput(pixels);
        targets.CheckClasses(model, pixels.shape[0]);
        long n = pixels.shape[0], height = pixels.shape[2], width = pixels.shape[3], count = height * width;
        if (maps.dim() != 3 || maps.shape[0] != n || maps.shape[1] != height || maps.shape[2] != width)
            throw new ArgumentException($"Expected one map per image, N x H x W = {n} x {height} x {width}; got [{string.Join(", ", maps.shape)}]. " +
                "Attributions.PerPixel turns N x C x H x W attributions into such maps.", nameof(maps));
        using var scope = NewDisposeScope();
        using var mode = model.EvaluationMode();
        var images = pixels.detach().to(ScalarType.Float32, model.Device);
        var ranks = Ranks(maps, largestFirst, seed).to(model.Device);
        var movedCounts = tensor(fractions.Select(f => (long)Math.Round(f * count)).ToArray(), device: model.Device);
        int points = fractions.Length;
        long pairs = n * points;   // image 0's fractions first, then image 1's…
        var pairTargets = targets.RepeatEach(points);
        var probabilities = new List<Tensor>();
        using var progress = ProgressDisplay.Start(label, (int)pairs);
        for (long start = 0; start < pairs; start += batchSize)
        {
            using var batchScope = NewDisposeScope();
            long size = Math.Min(batchSize, pairs - start);
            var pair = arange(start, start + size, device: model.Device);
            var image = pair.div(points, rounding_mode: RoundingMode.floor);
            var moved = (ranks.index_select(0, image) < movedCounts.index_select(0, pair.remainder(points)).unsqueeze(1))
                .to_type(ScalarType.Float32).reshape(size, 1, height, width);
            var seen = show(images.index_select(0, image), moved);
            probabilities.Add(pairTargets.Slice(start, size).Pick(model.Probabilities(seen)).cpu().MoveToOuterDisposeScope());
            progress.Report((int)(start + size));
        }
        var curves = cat(probabilities).to_type(ScalarType.Float64).reshape(n, points);
        var areas = Enumerable.Range(0, (int)n).Select(i => Area(curves[i].data<double>().ToArray(), fractions)).ToArray();
        return new FaithfulnessCurves(curves.MoveToOuterDisposeScope(), fractions, areas);
    }
}
