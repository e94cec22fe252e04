using WhatNetworksLearn.Data;
using WhatNetworksLearn.Features;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Exercises;

/// <summary>
/// The checks of notebook 19-unit-explorer's exercises. Each computes the expected answer with the kit's own code on
/// the notebook's model, photos and explorer, so the notebook never shows it.
/// </summary>
public static class UnitExplorerExercises
{
    /// <summary>Exercise 1: one unit's activation map on one prepared photo (1 x C x H x W), written by the student.</summary>
    public static ExerciseResult ActivationMap(Func<VisionModel, Tensor, string, int, Tensor?> yours, VisionModel model, Tensor photo, string layer, int channel)
    {
        using var scope = NewDisposeScope();
        var expected = ActivationMaps.Of(model, photo, layer)[channel];
        return Exercise.Implementation("One unit's activation map", () => yours(model, photo.clone(), layer, channel)?.cpu(), expected,
            "model.Activations(pixels, layer) returns a dictionary of the layer's output, N x C x h x w. Keep image 0 and the one " +
            "channel, and copy it before the captured output is disposed.", tolerance: 1e-5);
    }

    /// <summary>
    /// Exercise 2: the most selective unit, written by the student from a layer's peaks (photos x units: each unit's
    /// strongest response on each photo), over the first <paramref name="photoCount"/> photos seen whole.
    /// </summary>
    public static ExerciseResult MostSelective(Func<Tensor, int?> yours, VisionModel model, IReadOnlyList<Tensor> photos, string layer, int photoCount = 6)
    {
        using var scope = NewDisposeScope();
        using var views = CandidateViews.Whole(cat(photos.Take(photoCount).Select(p => Images.Prepare(p, model)).ToArray()));
        using var scan = TopPatches.Scan(model, views, layer);
        var peaks = scan.PeakPerImage();
        var expected = scan.MostSelective(1)[0].Channel;
        return Exercise.ComputedValue("The most selective unit", () => yours(peaks.clone()), expected,
            "For each unit (column), sort its peaks over the photos and divide the largest by the second largest; the unit " +
            "with the largest ratio is the most selective. Skip units that never respond (a largest peak of 0).");
    }

    /// <summary>The choices of exercise 3, by letter.</summary>
    static readonly string[] LayerChoices = ["a", "b", "c", "d"];

    /// <summary>
    /// Exercise 3: in which of the explorer's four layers (a to d, shallow to deep) the top regions are largest
    /// (<see cref="ExplorerRegion.Side"/>, at the network's scale), predicted before looking.
    /// </summary>
    public static ExerciseResult LargestRegions(string? prediction, UnitExplorerPage page)
    {
        const string title = "Which layer's regions are largest";
        if (Exercise.Unanswered(title, prediction, LayerChoices, out var unanswered))
            return unanswered;
        using var quiet = ProgressDisplay.Silence();   // a check shows its verdict and nothing else
        if (page.Layers.Count != LayerChoices.Length)
            throw new ArgumentException($"The exercise is written for an explorer of four layers; this one has {page.Layers.Count}.", nameof(page));
        var medians = page.Layers.Select(layer =>
        {
            var sides = page.Units.Where(u => u.Layer == layer).SelectMany(u => u.Regions).Select(r => r.Side).Order().ToList();
            return sides[sides.Count / 2];
        }).ToList();
        var outcome = LayerChoices[medians.IndexOf(medians.Max())];
        return Exercise.Prediction(title, prediction, outcome,
            "The median side of the top regions, in pixels of the photos as the network sees them (shorter side 224 for ResNet-18): " +
            string.Join(", ", page.Layers.Select((l, i) => $"{l} {medians[i]} px")) + ". A region is the receptive field of one position " +
            "of the layer: every convolution and pooling below it widens the window a unit sees (notebook 05), so a unit deep in the " +
            "network looks at a large part of the photo and a unit of the first stage at a small patch of texture or edge.");
    }
}
