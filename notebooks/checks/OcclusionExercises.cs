using WhatNetworksLearn.Attribution;
using WhatNetworksLearn.Data;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Exercises;

/// <summary>
/// The checks of notebook 01-occlusion's exercises. Each computes the expected answer with the kit's
/// <see cref="Occlusion"/> on the notebook's own model and images, so the notebook never shows it, and runs it without
/// progress bars (<see cref="ProgressDisplay.Silence"/>), whose counts of patch positions would give the answer away.
/// </summary>
public static class OcclusionExercises
{
    /// <summary>A probability "falls" at a patch position when it drops by more than this (one percentage point), as in the notebook's note.</summary>
    const float OnePoint = 0.01f;

    /// <summary>
    /// Exercise 1: the occlusion loop written by the student, <c>yours(model, image, target, patch, stride, fill)</c>
    /// returning rows x columns probabilities, on a grey 8-pixel patch moved by 3 pixels (a stride that does not
    /// divide the image evenly).
    /// </summary>
    public static ExerciseResult Loop(Func<VisionModel, Tensor, int, int, int, float, Tensor?> yours, VisionModel model, Tensor image, int target)
    {
        const int patch = 8, stride = 3;
        const float fill = 0.5f;
        using var scope = NewDisposeScope();
        using var quiet = ProgressDisplay.Silence();   // a check shows its verdict and nothing else
        using var kit = new Occlusion(model, new OcclusionOptions(patch, stride, fill, BatchSize: 64)).Run(image, target);
        return Exercise.Implementation("The occlusion loop", () => yours(model, image.clone(), target, patch, stride, fill), kit.Probabilities,
            "There are (H - patch) / stride + 1 rows of positions (integer division), and as many columns for W. For each position " +
            "take a copy of the image whose patch-sized square starting at (row x stride, column x stride) holds the fill, run all " +
            "copies through the model in one batch, and keep the target class's probability (after the softmax), row by row.");
    }

    /// <summary>
    /// Exercise 2: predicted before running: with a white patch instead of the black one, do fewer (a), about as many
    /// (b, within 10%) or more (c) patch positions lower the probability by more than a point?
    /// </summary>
    public static ExerciseResult WhitePatch(string? prediction, VisionModel model, Tensor image, int target)
    {
        const string title = "A white patch instead of a black one";
        if (Exercise.Unanswered(title, prediction, out var unanswered))
            return unanswered;
        using var quiet = ProgressDisplay.Silence();   // a check shows its verdict and nothing else
        const int patch = 6;
        using var scope = NewDisposeScope();
        long Falls(float fill, out Tensor fell)
        {
            using var result = new Occlusion(model, new OcclusionOptions(patch, 1, fill, BatchSize: 128)).Run(image, target);
            fell = (result.BaseProbability - result.Probabilities).gt(OnePoint);
            return fell.sum().item<long>();
        }
        long black = Falls(0, out _), white = Falls(1, out var whiteFell);
        // A position lies wholly on the background when its square holds no garment pixel (the largest mask value under it is 0).
        var garment = FashionMnist.GarmentMask(image).reshape(1, 1, image.shape[^2], image.shape[^1]);
        var touches = nn.functional.max_pool2d(garment, patch, 1)[0, 0].gt(0);
        long onBackground = whiteFell.logical_and(touches.logical_not()).sum().item<long>();
        string outcome = white < 0.9 * black ? "a" : white <= 1.1 * black ? "b" : "c";
        string where = onBackground > 0
            ? $"{onBackground} of the white patch's positions lie wholly on the background, where a black patch changes nothing at all: " +
              "there the network reacts to the white square itself."
            : "None of the white patch's positions that matter lies wholly on the background in this image.";
        return Exercise.Prediction(title, prediction, outcome,
            $"With the {patch}-pixel patch at stride 1, {black} positions lower P({model.ClassNames[target]}) by more than one point with the black " +
            $"patch and {white} with the white one. {where} On a black background a black patch can only take garment away; a white one " +
            "also adds a bright square the image did not have, so its map mixes what was hidden with what was added.");
    }

    /// <summary>The sides exercise 3 tries, smallest first.</summary>
    static readonly int[] Sides = Enumerable.Range(6, 11).ToArray();   // 6 ... 16

    /// <summary>
    /// Exercise 3: the smallest black patch side (6 to 16, stride 2) at which the worst position lowers the probability of the
    /// first trouser of the sample by at least 50 points; 0 if none does.
    /// </summary>
    public static ExerciseResult LargerPatch(int? yours, VisionModel model, FashionMnist.LabeledImages sample)
    {
        using var scope = NewDisposeScope();
        using var quiet = ProgressDisplay.Silence();   // a check shows its verdict and nothing else
        var trouser = sample.Images[sample.Labels.eq(FashionMnist.ClassNames.ToList().IndexOf("Trouser")).nonzero()[0, 0].item<long>()];
        var (predicted, _) = model.Predict(trouser.unsqueeze(0))[0];
        int expected = Sides.FirstOrDefault(side =>
        {
            using var result = new Occlusion(model, new OcclusionOptions(side, 2, 0, BatchSize: 128)).Run(trouser, predicted);
            return result.BaseProbability - result.Probabilities.min().item<float>() >= 0.5f;
        });
        return Exercise.Check("The patch side that hides the trouser", yours, expected,
            "For each side, run Occlusion on the first trouser with Fill: 0 and Stride: 2, and compare the drop at the worst position " +
            "(the intact probability minus the smallest value of Probabilities) with 0.5; stop at the first side that reaches it.");
    }
}
