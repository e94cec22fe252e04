using WhatNetworksLearn.Data;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using WhatNetworksLearn.Synthesis;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Exercises;

/// <summary>
/// The checks of notebook 10-deepdream's exercises. Each computes the expected answer with the kit's own
/// <see cref="DeepDream"/> on the notebook's network and photo, so the notebook never shows it.
/// </summary>
public static class DeepDreamExercises
{
    /// <summary>
    /// Exercise 1: one DeepDream step written by the student: from <paramref name="photo"/> (C x H x W), along the
    /// gradient of the mean square of <paramref name="layer"/> normalised by its mean absolute value, times
    /// <paramref name="strength"/>, pixels clipped to [0, 1]. The kit's answer is a one-octave, one-step dream without
    /// the roll.
    /// </summary>
    public static ExerciseResult Step(Func<Tensor, string, double, Tensor?> yours, VisionModel model, Tensor photo, string layer, double strength = 0.015)
    {
        using var scope = NewDisposeScope();
        var image = photo.dim() == 3 ? photo.unsqueeze(0) : photo;
        using var dream = DeepDream.Run(model, image, new DeepDreamOptions(layer, Octaves: 1, StepsPerOctave: 1, Strength: strength, Jitter: 0));
        return Exercise.Implementation("One DeepDream step", () => yours(image.clone(), layer, strength), dream.Image,
            "Take the gradient of Objective.MeanSquare(layer) with respect to the image, divide it by the mean of its absolute values " +
            "(one number for the whole image), multiply by the strength, add it to the image and clip the pixels to [0, 1].", tolerance: 1e-4);
    }

    /// <summary>The choices of exercise 2, by letter, with the ranges of the factor they stand for.</summary>
    static readonly (string Letter, double Below)[] GainChoices = [("a", 1.5), ("b", 5), ("c", 20), ("d", double.PositiveInfinity)];

    /// <summary>
    /// Exercise 2: by what factor <paramref name="dream"/> raised the mean square of <paramref name="layer"/> over that of
    /// <paramref name="photo"/>, predicted before running: (a) less than 1.5; (b) 1.5 to 5; (c) 5 to 20; (d) more than 20.
    /// </summary>
    public static ExerciseResult Gain(string? prediction, VisionModel model, Tensor photo, DeepDreamResult dream, string layer)
    {
        const string title = "How much the dream raised the layer's response";
        if (Exercise.Unanswered(title, prediction, out var unanswered))
            return unanswered;
        using var quiet = ProgressDisplay.Silence();   // a check shows its verdict and nothing else
        if (GainChoices.All(c => c.Letter != prediction.Trim().ToLowerInvariant()))
            return new(title, ExerciseStatus.NotYet, "not yet: answer with one of the letters a, b, c or d.");
        using var scope = NewDisposeScope();
        var objective = Objective.MeanSquare(layer);
        double before = InputOptimizer.Evaluate(model, objective, photo.unsqueeze(0))[0].item<float>();
        double after = InputOptimizer.Evaluate(model, objective, dream.Image.unsqueeze(0))[0].item<float>();
        double gain = after / before;
        double moved = (dream.Image - photo).abs().mean().item<float>();
        int steps = dream.Octaves.Sum(o => o.Objective.Count);
        return Exercise.Prediction(title, prediction, GainChoices.First(c => gain < c.Below).Letter,
            $"The mean square of {layer} is {before:G3} for the photo and {after:G3} for the dream, {gain:F1} times as much. The objective is " +
            $"a square, so the activations themselves grew about {Math.Sqrt(gain):F1} times (in root mean square). The dream's pixels differ from " +
            $"the photo's by {moved:F3} on average (on a scale of 0 to 1) after {steps} steps: every step moves the pixels in the direction " +
            "that raises the objective fastest, so a small change of the pixels buys as much of the layer's response as it can. How " +
            "changed the dream looks to us is no measure of how much more the layer responds.");
    }

    /// <summary>
    /// Exercise 3: the start of the second octave, written by the student, from <paramref name="dream"/>'s first (smallest)
    /// octave: the detail it added, enlarged to the next octave's size and added to the photo at that size, clipped to [0, 1].
    /// </summary>
    public static ExerciseResult OctaveStart(Func<Tensor, Tensor, Tensor, Tensor?> yours, Tensor photo, DeepDreamResult dream)
    {
        if (dream.Octaves.Count < 2)
            return new("The start of the next octave", ExerciseStatus.NotYet, "not yet: this check needs a dream of two octaves or more.");
        using var scope = NewDisposeScope();
        var (small, large) = (dream.Octaves[0], dream.Octaves[1]);
        var image = photo.unsqueeze(0).cpu();
        var smallPhoto = Images.Resize(image, small.Height, small.Width);
        var largePhoto = Images.Resize(image, large.Height, large.Width);
        var expected = DeepDream.OctaveStart(largePhoto, small.Image - smallPhoto);
        return Exercise.Implementation("The start of the next octave", () => yours(small.Image.clone(), smallPhoto.clone(), largePhoto.clone()), expected,
            "The detail is what the dream added at the small size: the dream minus the photo at that size. Enlarge the detail, not the " +
            "dream, to the larger size (bilinear, align_corners: false), add it to the larger copy of the photo, and clip to [0, 1].", tolerance: 1e-5);
    }
}
