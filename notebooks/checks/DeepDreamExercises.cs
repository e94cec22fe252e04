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
        if (Exercise.Unanswered(title, prediction, [.. GainChoices.Select(c => c.Letter)], out var unanswered))
            return unanswered;
        using var quiet = ProgressDisplay.Silence();   // a check shows its verdict and nothing else
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

    /// <summary>
    /// Exercise 4: mirroring images up to a network's input size, written by the student: <c>yours(images, height, width)</c>
    /// for images N x C x h x w no larger than height x width. First a row of three pixels worked out by hand, then small
    /// copies of <paramref name="photo"/> mirrored to 224 x 224 and compared with the kit's <see cref="ReflectToSize"/>:
    /// the smallest octave (82), a margin of odd width, and an image so small that one mirror does not fill the margin.
    /// </summary>
    public static ExerciseResult Mirror(Func<Tensor, int, int, Tensor?> yours, Tensor photo)
    {
        using var scope = NewDisposeScope();
        var image = photo.dim() == 3 ? photo.unsqueeze(0) : photo;
        // By hand: 1 2 3 in the middle of 7 pixels is 3 2 [1 2 3] 2 1; in the middle of 11, 1 2 3 2 [1 2 3] 2 1 2 3.
        var row = tensor(new float[] { 1, 2, 3 }).reshape(1, 1, 1, 3);
        var cases = new List<(Tensor Images, int Height, int Width, Tensor Expected)>
        {
            (row, 1, 7, tensor(new float[] { 3, 2, 1, 2, 3, 2, 1 }).reshape(1, 1, 1, 7)),
            (row, 1, 11, tensor(new float[] { 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3 }).reshape(1, 1, 1, 11)),
        };
        foreach (var (h, w) in new[] { (82, 82), (75, 120), (40, 40) })
        {
            var small = nn.functional.interpolate(image, [h, w], mode: InterpolationMode.Bilinear, align_corners: false);
            cases.Add((small, 224, 224, new ReflectToSize(224, 224).Apply(small)));
        }
        return Exercise.Implementation("Mirroring up to the input size", () =>
            {
                var answers = cases.Select(c => yours(c.Images.clone(), c.Height, c.Width)).ToList();
                return answers.Any(a => a is null) ? null : cat(answers.Select(a => a!.flatten()).ToArray());
            }, cat(cases.Select(c => c.Expected.flatten()).ToArray()),
            "The result is height x width with the image in the middle (an odd margin puts its extra row on top and its extra column " +
            "on the left). A mirror does not repeat the edge: beyond 1 2 3 comes 2 1, then 2 3 again, as far as the margin needs, " +
            "and a margin can be wider than the image.", tolerance: 1e-6);
    }
}
