using WhatNetworksLearn.Data;
using WhatNetworksLearn.Features;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Exercises;

/// <summary>
/// The checks of notebook 05-top-patches' exercises. Each computes the expected answer with the kit's
/// <see cref="ReceptiveField"/> and <see cref="TopPatches"/> on the notebook's own models and images, so the notebook
/// never shows it.
/// </summary>
public static class TopPatchesExercises
{
    /// <summary>The ResNet-18 layer exercise 1 asks about: one the notebook does not scan, between two that it does.</summary>
    const string MiddleLayer = "layer3.1.relu2";

    /// <summary>The trunk's last layer, whose path exercise 2 walks.</summary>
    const string DeepLayer = "layer4.2.relu2";

    /// <summary>The side of the windows the trunk sees.</summary>
    const int Window = 224;

    /// <summary>
    /// Exercise 1: predicted before computing: the receptive field of a unit of the trunk's layer3.1.relu2 is (a) under
    /// 50 pixels wide, (b) 50 to 150, (c) 151 to 300, (d) over 300.
    /// </summary>
    public static ExerciseResult DeepField(string? prediction, VisionModel trunk)
    {
        string title = $"The receptive field of {MiddleLayer}";
        if (Exercise.Unanswered(title, prediction, out var unanswered))
            return unanswered;
        using var quiet = ProgressDisplay.Silence();   // a check shows its verdict and nothing else
        var field = ReceptiveField.Of(ReceptiveField.PathTo(trunk, MiddleLayer));
        string outcome = field.Size < 50 ? "a" : field.Size <= 150 ? "b" : field.Size <= 300 ? "c" : "d";
        int positions = (Window - 1) / field.Jump + 1;   // 14 for a jump of 16
        int whole = Enumerable.Range(0, positions).Count(x => field.Box(0, x, Window, Window).Width == Math.Min(field.Size, Window));
        return Exercise.Prediction(title, prediction, outcome,
            $"ReceptiveField gives {field.Size} x {field.Size} pixels, with neighbouring units {field.Jump} pixels apart. Each 3 x 3 " +
            "convolution widens the field by two steps of the current jump, and every stride-2 layer doubles the jump, so each stage " +
            "adds about twice as much as the one before: the four convolutions of layer3 add more than everything below them. " +
            (field.Size > Window
                ? $"The field is wider than the {Window} x {Window} window, so part of it always lies on padding."
                : $"The field fits in the {Window} x {Window} window, but only {whole * whole} of the {positions * positions} units of the " +
                  $"window's {positions} x {positions} map {(whole * whole == 1 ? "sees its field" : "see their fields")} whole; the others see padding beyond the window's border.") +
            " Not all of the field counts alike: pixels near its centre reach the unit through many more paths than those at its edge.");
    }

    /// <summary>
    /// Exercise 2: the receptive-field recurrence written by the student, <c>yours(path)</c> giving (size, jump, start),
    /// for paths of fashion-cnn and of the trunk, compared with <see cref="ReceptiveField.Of"/>.
    /// </summary>
    public static ExerciseResult Field(Func<IReadOnlyList<LayerGeometry>, (int Size, int Jump, double Start)> yours, VisionModel fashion, VisionModel trunk)
    {
        var paths = new[] { (fashion, "conv1"), (fashion, "pool1"), (fashion, "relu2"), (fashion, "relu3"), (trunk, "maxpool"), (trunk, DeepLayer) }
            .Select(p => ReceptiveField.PathTo(p.Item1, p.Item2)).ToList();
        var expected = paths.Select(ReceptiveField.Of).SelectMany(f => new[] { f.Size, f.Jump, f.Start }).ToArray();
        using var scope = NewDisposeScope();
        return Exercise.Implementation("The receptive-field recurrence", () =>
                tensor(paths.Select(path => yours(path)).SelectMany(f => new[] { f.Size, f.Jump, f.Start }).ToArray()).reshape(paths.Count, 3),
            tensor(expected).reshape(paths.Count, 3),
            "Start from the image (size 1, jump 1, start 0) and update with each layer in turn, using the jump from before the layer for " +
            "the size and the start, and only then multiplying the jump by the stride. A kernel k with dilation d spans d(k - 1) + 1 " +
            "positions; padding moves the start back by padding x jump.",
            tolerance: 1e-6);
    }

    /// <summary>The relu3 unit exercise 3 uses: the trouser unit of the notebook's figure.</summary>
    const int Unit = 17;

    /// <summary>
    /// Exercise 3: greedy non-maximum suppression written by the student, <c>yours(regions, scores, iouThreshold)</c>
    /// (the indices kept, strongest first), on every position where relu3's unit <see cref="Unit"/> responds in the first
    /// trouser of the sample, candidates in the order of the map; compared with <see cref="TopPatches.NonMaximumSuppression"/>.
    /// </summary>
    public static ExerciseResult Suppression(Func<IReadOnlyList<Region>, IReadOnlyList<float>, double, List<int>?> yours, VisionModel model,
        FashionMnist.LabeledImages sample)
    {
        const double threshold = 0.3;
        using var scope = NewDisposeScope();
        var trouser = sample.Images.narrow(0, sample.Labels.eq(FashionMnist.ClassNames.ToList().IndexOf("Trouser")).nonzero()[0, 0].item<long>(), 1);
        var map = ActivationMaps.Of(model, trouser, "relu3")[Unit];
        int rows = (int)map.shape[0], columns = (int)map.shape[1];
        var values = map.contiguous().data<float>().ToArray();
        var field = ReceptiveField.Of(ReceptiveField.PathTo(model, "relu3"));
        var regions = new List<Region>();
        var scores = new List<float>();
        for (int y = 0; y < rows; y++)
            for (int x = 0; x < columns; x++)
                if (values[y * columns + x] is > 0 and var score)   // where the unit is silent, every candidate would tie at 0
                {
                    var (left, top, width, height) = field.Box(y, x, (int)trouser.shape[2], (int)trouser.shape[3]);
                    regions.Add(new Region(left, top, width, height));
                    scores.Add(score);
                }
        var expected = TopPatches.NonMaximumSuppression(regions, scores, threshold);
        return Exercise.Implementation("Non-maximum suppression", () => yours(regions, scores, threshold) is { } kept ? tensor(kept.Select(i => (long)i).ToArray()) : null,
            tensor(expected.Select(i => (long)i).ToArray()),
            $"The candidates come in the order of the map, row by row, not strongest first. Walk them from the highest score down, and keep " +
            $"a region only if its IoU with every region kept so far is at most {threshold}; return the indices kept, in the order kept.",
            tolerance: 1e-9);
    }
}
