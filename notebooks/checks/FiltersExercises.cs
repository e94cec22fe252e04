using WhatNetworksLearn.Features;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Exercises;

/// <summary>
/// The checks of notebook 02-filters' exercises. Each computes the expected answer with the kit's
/// <see cref="Filters"/> on the notebook's own models, so the notebook never shows it.
/// </summary>
public static class FiltersExercises
{
    /// <summary>
    /// Exercise 1: a filter bank (out x in x k x k) stretched for display by the student, each filter on its own to
    /// [0, 1], compared with the pictures <see cref="Filters.FirstLayerTiles"/> draws of the model's first layer.
    /// </summary>
    public static ExerciseResult ForDisplay(Func<Tensor, Tensor?> yours, VisionModel model)
    {
        using var scope = NewDisposeScope();
        var weights = Filters.Weights(model, Filters.ConvolutionLayers(model)[0]);
        var expected = stack(Filters.FirstLayerTiles(model).Select(tile => tile.Image));
        return Exercise.Implementation("Filters ready to draw", () => yours(weights.clone()), expected,
            "Each filter gets its own scale: its smallest weight must become 0 and its largest 1, whatever the other filters hold, " +
            "and one filter is all its channels together, not one channel at a time.",
            tolerance: 1e-5);
    }

    /// <summary>The filter of the model's first layer that exercise 2 asks about.</summary>
    public const int PatchFilter = 4;

    /// <summary>
    /// Exercise 2: predicted before computing: which of four patches of length 1 makes first-layer filter
    /// <see cref="PatchFilter"/> respond most: (a) a uniform patch, (b) the filter's own weights, (c) its weights with
    /// every sign flipped, (d) random noise.
    /// </summary>
    public static ExerciseResult BestPatch(string? prediction, VisionModel model)
    {
        string title = $"The patch filter #{PatchFilter} answers most";
        if (Exercise.Unanswered(title, prediction, out var unanswered))
            return unanswered;
        using var quiet = ProgressDisplay.Silence();   // a check shows its verdict and nothing else
        using var scope = NewDisposeScope();
        var filter = Filters.Weights(model, Filters.ConvolutionLayers(model)[0])[PatchFilter].to_type(ScalarType.Float64);
        using var generator = new Generator(0);
        var patches = new (string Letter, string Name, Tensor Patch)[]
        {
            ("a", "uniform", ones_like(filter)),
            ("b", "its own weights", filter.clone()),
            ("c", "its weights with signs flipped", -filter),
            ("d", "noise", randn(filter.shape, dtype: ScalarType.Float64, generator: generator)),
        };
        // The response of a convolution at one position is the dot product of its weights with the patch under them (bias left out).
        var responses = patches.Select(p => (p.Letter, p.Name, Response: (filter * p.Patch / p.Patch.norm()).sum().item<double>())).ToList();
        var best = responses.MaxBy(r => r.Response);
        return Exercise.Prediction(title, prediction, best.Letter,
            $"Responses to patches of length 1: {string.Join(", ", responses.Select(r => $"{r.Name} {r.Response:F3}"))}. A response is the " +
            "dot product of the weights with the patch, and among patches of one length a dot product is largest for the patch that points the " +
            "way the weights do (the Cauchy-Schwarz inequality): the filter itself, scaled, and most negative for its opposite. A filter is a " +
            "template that answers most to what looks like it, which is why its picture shows what it detects. A uniform patch only measures " +
            $"the sum of the weights ({filter.sum().item<double>():F2} here, against a length of {filter.norm().item<double>():F2}), in which " +
            "positive and negative weights cancel, and noise points in no particular direction.");
    }

    /// <summary>
    /// Exercise 3: the neighbour correlation of every first-layer filter of each of <paramref name="models"/>, written by
    /// the student, compared with <see cref="Filters.NeighbourCorrelation"/> (the values of all the banks, one after another).
    /// </summary>
    public static ExerciseResult Smoothness(Func<Tensor, Tensor?> yours, params VisionModel[] models)
    {
        using var scope = NewDisposeScope();
        var banks = models.Select(model => Filters.Weights(model, Filters.ConvolutionLayers(model)[0])).ToList();
        var expected = cat(banks.Select(Filters.NeighbourCorrelation).ToList(), 0);
        return Exercise.Implementation("How alike neighbouring weights are", () =>
            {
                var answers = banks.Select(bank => yours(bank.clone())).ToList();
                return answers.Any(a => a is null) ? null : cat(answers.Select(a => a!.flatten()).ToList(), 0);
            }, expected,
            "One value per filter. Take away each filter's own mean first (over its channels, rows and columns); then average the product of " +
            "each weight with its right-hand neighbour, and separately with the one below it, and divide the mean of the two by the " +
            "filter's mean square.",
            tolerance: 1e-4);
    }
}
