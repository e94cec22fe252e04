using WhatNetworksLearn.Features;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Exercises;

/// <summary>
/// The checks of notebook 03-activations' exercises. Each computes the expected answer with the kit's
/// <see cref="ActivationMaps"/> on the notebook's own model and image, so the notebook never shows it.
/// </summary>
public static class ActivationsExercises
{
    /// <summary>The relu1 channels exercise 1 asks for, one at a time.</summary>
    static readonly long[] Channels = [0, 7, 19, 31];

    /// <summary>
    /// Exercise 1: one feature map of fashion-cnn's relu1 computed by the student, <c>yours(image, channel)</c>
    /// (H x W), for a few channels, compared with <see cref="ActivationMaps.Of"/>.
    /// </summary>
    public static ExerciseResult FeatureMap(Func<Tensor, int, Tensor?> yours, VisionModel model, Tensor image)
    {
        using var scope = NewDisposeScope();
        var expected = ActivationMaps.Of(model, image, "relu1").index_select(0, tensor(Channels));
        return Exercise.Implementation("One relu1 feature map by hand", () =>
            {
                var maps = Channels.Select(c => yours(image.clone(), (int)c)).ToList();
                return maps.Any(m => m is null) ? null : stack(maps!);
            }, expected,
            "Follow the image through the layers in order: the model's normalisation (subtract Input.Mean, divide by Input.Std), " +
            "conv1 with its weights, bias and padding 2, then bn1, then the ReLU; keep the one channel asked for, as H x W.",
            tolerance: 1e-4);
    }

    /// <summary>
    /// Exercise 2: 2 x 2 max pooling written by the student (C x H x W to C x H/2 x W/2), applied to relu1's maps and
    /// compared with the output of pool1.
    /// </summary>
    public static ExerciseResult Pooling(Func<Tensor, Tensor?> yours, VisionModel model, Tensor image)
    {
        using var scope = NewDisposeScope();
        var relu1 = ActivationMaps.Of(model, image, "relu1");
        return Exercise.Implementation("2 x 2 max pooling", () => yours(relu1.clone()), ActivationMaps.Of(model, image, "pool1"),
            "Output (c, i, j) is the largest of the four values at rows 2i and 2i+1, columns 2j and 2j+1 of map c: check that " +
            "each of your blocks holds exactly those four values and no others.",
            tolerance: 1e-6);
    }

    /// <summary>How far (in pixels) exercise 3 moves the image down.</summary>
    public const int Shift = 4;

    /// <summary>
    /// Exercise 3: predicted before running: when the image moves <see cref="Shift"/> pixels down, relu3's maps
    /// (a) stay as they are, (b) move down by one position, (c) move down by four positions, or (d) change into other
    /// patterns. Compared where the receptive fields lie inside the image, away from the padding.
    /// </summary>
    public static ExerciseResult MovedImage(string? prediction, VisionModel model, Tensor image)
    {
        string title = $"relu3 when the image moves {Shift} pixels down";
        if (Exercise.Unanswered(title, prediction, out var unanswered))
            return unanswered;
        using var quiet = ProgressDisplay.Silence();   // a check shows its verdict and nothing else
        const string layer = "relu3";
        using var scope = NewDisposeScope();
        var pixels = image.dim() == 3 ? image.unsqueeze(0) : image;
        var before = ActivationMaps.Of(model, pixels, layer);
        var after = ActivationMaps.Of(model, pixels.roll(Shift, 2), layer);   // the black rows leaving at the bottom come back at the top
        int rows = (int)before.shape[1];
        var field = ReceptiveField.Of(ReceptiveField.PathTo(model, layer));
        // Rows whose field lies wholly inside the image: they never see the padding, which does not move with the image.
        var inside = Enumerable.Range(0, rows).Where(y => field.Box(y, 0, (int)pixels.shape[2], (int)pixels.shape[3]).Height == field.Size).ToHashSet();
        // The difference between the maps moved by `moved` positions and the maps after the image's move, as a share of their size,
        // over the rows whose fields lie inside the image both times (or, when there are none, over every row that still overlaps).
        (double Value, bool Inside) Mismatch(int moved)
        {
            var pairs = Enumerable.Range(0, rows - moved).Where(y => inside.Contains(y) && inside.Contains(y + moved)).ToList();
            bool allInside = pairs.Count > 0;
            if (!allInside)
                pairs = Enumerable.Range(0, rows - moved).ToList();
            var from = before.index_select(1, tensor(pairs.Select(y => (long)y).ToArray()));
            var to = after.index_select(1, tensor(pairs.Select(y => (long)(y + moved)).ToArray()));
            return ((to - from).norm().item<float>() / Math.Max(from.norm().item<float>(), 1e-12), allInside);
        }
        var mismatch = new (string Letter, int Moved)[] { ("a", 0), ("b", 1), ("c", 4) }
            .Select(m => (m.Letter, m.Moved, Result: Mismatch(m.Moved))).ToList();
        var best = mismatch.MinBy(m => m.Result.Value);
        string outcome = best.Result.Value < 0.05 ? best.Letter : "d";
        return Exercise.Prediction(title, prediction, outcome,
            $"How far relu3's maps after the move are from the maps before it, moved down by 0, 1 or 4 positions, as a share of their size, " +
            "over the rows whose fields lie inside the image before and after: " +
            string.Join(", ", mismatch.Select(m => $"{m.Result.Value:P0} for {m.Moved}" +
                (m.Result.Inside ? "" : $" (no row stays inside after a move of {m.Moved}, so there over every row that still overlaps)"))) + ". " +
            $"Convolutions and ReLUs move with their input, and a 2 x 2 max-pool does too when the move is a multiple of its stride; relu3 " +
            $"comes after two of them, so its positions are {field.Jump} pixels apart and a move of {Shift} pixels is a move of " +
            $"{Shift / field.Jump} position. A deep map still says where in the image each part was found, on a coarser grid; only near " +
            "the border, where a field reaches the padding, does it change in other ways.");
    }
}
