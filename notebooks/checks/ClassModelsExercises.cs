using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using WhatNetworksLearn.Synthesis;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Exercises;

/// <summary>
/// The checks of notebook 09-class-models' exercises. Each computes the expected answer with the kit's own
/// activation maximisation on the notebook's model and settings, so the notebook never shows it.
/// </summary>
public static class ClassModelsExercises
{
    /// <summary>
    /// Exercise 1: one step of the class model's gradient ascent, S_c(I) − λ‖I − background‖², written by the student
    /// and applied to the kit's image after one step; checked against the kit's image after two steps. Jitter and blur
    /// are switched off so that the step is the whole update.
    /// </summary>
    public static ExerciseResult AscentStep(Func<VisionModel, Tensor, int, double, double, Tensor?> yours, VisionModel model, int cls, MaximizationOptions settings)
    {
        using var scope = NewDisposeScope();
        using var quiet = ProgressDisplay.Silence();   // a check shows its verdict and nothing else
        var plain = settings with { Jitter = 0, BlurEvery = 0, StepRule = null };
        using var afterOne = ActivationMaximization.ClassModels(model, [cls], plain with { Steps = 1 });
        using var afterTwo = ActivationMaximization.ClassModels(model, [cls], plain with { Steps = 2 });
        var start = afterOne.Images.cpu();
        return Exercise.Implementation("One step of the class model", () => yours(model, start.clone(), cls, settings.LearningRate, settings.L2Weight)?.cpu(),
            afterTwo.Images.cpu(),
            $"The objective is the class's score minus λ times the sum of the squared pixels (the background here is {settings.Background}). Take its " +
            "gradient with respect to the image, add the learning rate times it, and keep the pixels in [0, 1].", tolerance: 1e-4);
    }

    /// <summary>Exercise 2: whether a ten times stronger L2 penalty makes the Sneaker model darker, brighter or leaves it, predicted.</summary>
    public static ExerciseResult StrongerPenalty(string? prediction, VisionModel model, MaximizationOptions settings)
    {
        const string title = "A ten times stronger L2 penalty";
        if (Exercise.Unanswered(title, prediction, ["a", "b", "c"], out var unanswered))
            return unanswered;
        using var quiet = ProgressDisplay.Silence();   // a check shows its verdict and nothing else
        int sneaker = model.ClassIndex("Sneaker");
        var (before, beforeScore) = Sneaker(model, settings, sneaker);
        var (after, afterScore) = Sneaker(model, settings with { L2Weight = settings.L2Weight * 10 }, sneaker);
        var outcome = Math.Abs(after - before) <= 0.05 * before ? "c" : after < before ? "a" : "b";
        return Exercise.Prediction(title, prediction, outcome,
            $"With λ = {settings.L2Weight} the Sneaker model's mean pixel is {before:F3} and its score {beforeScore:F1}; with λ = {settings.L2Weight * 10}, " +
            $"{after:F3} and {afterScore:F1}. The penalty pulls every pixel towards the background ({settings.Background}), and only pixels that " +
            "earn enough score to pay for themselves stay away from it" + (afterScore < beforeScore ? ": a stronger penalty keeps fewer of them, and the score falls with them." : "."));
    }

    /// <summary>Exercise 3: whether the Sneaker model started from mid-grey ends with a higher or lower score than from black, predicted.</summary>
    public static ExerciseResult GreyStart(string? prediction, VisionModel model, MaximizationOptions settings)
    {
        const string title = "Starting from mid-grey";
        if (Exercise.Unanswered(title, prediction, ["higher", "lower"], out var unanswered))
            return unanswered;
        using var quiet = ProgressDisplay.Silence();   // a check shows its verdict and nothing else
        int sneaker = model.ClassIndex("Sneaker");
        var (blackMean, blackScore) = Sneaker(model, settings, sneaker);
        var (greyMean, greyScore) = Sneaker(model, settings with { Background = 0.5 }, sneaker);
        return Exercise.Prediction(title, prediction, greyScore > blackScore ? "higher" : "lower",
            $"From black the Sneaker model scores {blackScore:F1} (mean pixel {blackMean:F3}); from mid-grey {greyScore:F1} (mean pixel {greyMean:F3}). " +
            "The background is also where the L2 penalty pulls, so from grey the penalty holds the image near grey. " +
            (greyScore < blackScore
                ? "The network learnt its shoes as bright shapes on black, and a grey surround is something it never saw in training."
                : "From grey, pixels can move down as well as up, so dark strokes can add evidence too."));
    }

    /// <summary>The Sneaker class model under <paramref name="settings"/>: its mean pixel and its score.</summary>
    static (float Mean, float Score) Sneaker(VisionModel model, MaximizationOptions settings, int sneaker)
    {
        using var scope = NewDisposeScope();
        using var result = ActivationMaximization.ClassModels(model, [sneaker], settings);
        return (result.Images.mean().item<float>(), model.Forward(result.Images)[0, sneaker].item<float>());
    }
}
