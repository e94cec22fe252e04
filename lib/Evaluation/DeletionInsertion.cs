using WhatNetworksLearn.Models;
using WhatNetworksLearn.Synthesis;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Evaluation;

/// <summary>Settings of <see cref="DeletionInsertion"/>.</summary>
/// <param name="Steps">Points of the curve after the start: step k has k / Steps of the pixels moved.</param>
/// <param name="BlurSigma">
/// The blurred image that insertion starts from and deletion moves pixels to, as a fraction of the image's shorter side
/// (Petsiuk et al. insert into a blurred image, so the start holds no edges to find; 0: a black image).
/// </param>
/// <param name="Seed">Seed of the order among pixels the map ties (FaithfulnessCurves.FirstPixels).</param>
/// <param name="BatchSize">Images per forward pass (the points of all the images' curves go through together).</param>
public sealed record DeletionInsertionOptions(int Steps = 28, double BlurSigma = 0, int Seed = 0, int BatchSize = 128)
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
/// Does a map rank first the pixels the network needs most? Deletion and insertion (Petsiuk, Das and Saenko, 2018)
/// answer by acting on the map's order. <b>Deletion</b> replaces the pixels with a neutral value (black, or a blurred
/// copy) in the map's order, most important first, and follows the class probability: a faithful map makes it fall
/// at once, so the area under the curve is small. <b>Insertion</b> starts from the neutral image and puts the pixels
/// back in the same order: a faithful map makes the probability rise at once, a large area. Any map of the image's
/// height and width works (attribution magnitudes per pixel, a Grad-CAM map enlarged, a random map as the control);
/// ties come in a random order drawn from the seed. A pixel's channels move together.
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
        int steps = options.Steps;
        var fractions = Enumerable.Range(0, steps + 1).Select(k => (double)k / steps).ToArray();
        return FaithfulnessCurves.Measure(model, pixels, maps, targets, fractions, largestFirst: true, options.Seed, options.BatchSize, deleting ? "Deletion" : "Insertion",
            (images, moved) =>
            {
                var neutral = options.BlurSigma == 0 ? zeros_like(images)
                    : ImageFilters.GaussianBlur(images, options.BlurSigma * Math.Min(images.shape[2], images.shape[3]));
                var shown = deleting ? 1 - moved : moved;
                return images * shown + neutral * (1 - shown);
            });
    }
}
