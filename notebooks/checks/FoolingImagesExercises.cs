using WhatNetworksLearn.Adversarial;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using WhatNetworksLearn.Synthesis;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Exercises;

/// <summary>
/// The checks of notebook 12-fooling-images' exercises. Each computes the expected answer with the kit's own code on
/// the notebook's model and results, so the notebook never shows it.
/// </summary>
public static class FoolingImagesExercises
{
    /// <summary>
    /// Exercise 1: one step of gradient ascent from noise, written by the student, against the kit's
    /// <see cref="FoolingImages.ByGradientAscent"/> run for one step from the same seeded noise.
    /// </summary>
    public static ExerciseResult AscentStep(Func<VisionModel, Tensor, Tensor, double, Tensor?> yours, VisionModel model, int[] classes,
        double stepSize = 0.03, int seed = 5)
    {
        using var scope = NewDisposeScope();
        var input = model.Input;
        using var random = new Generator((ulong)seed);
        var start = rand(new long[] { classes.Length, input.Channels, input.Height, input.Width }, generator: random);   // the kit's start for this seed
        using var kit = FoolingImages.ByGradientAscent(model, classes, new GradientFoolingOptions(Steps: 1, StepSize: stepSize, Seed: seed));
        var expected = kit.Images.cpu();
        var targets = tensor(classes.Select(c => (long)c).ToArray());
        return Exercise.Implementation("One step of gradient ascent from noise", () => yours(model, start.clone(), targets.clone(), stepSize)?.cpu(), expected,
            "Take the gradient of the sum of each image's own class score (the logit, not the probability) with respect to the images, " +
            "divide each image's gradient by the mean of its absolute values, multiply by the step size, add it, and keep the pixels in [0, 1].",
            tolerance: 1e-4);
    }

    /// <summary>The choices of exercise 2, by letter.</summary>
    static readonly string[] BlurChoices = ["a", "b", "c", "d"];

    /// <summary>
    /// Exercise 2: how many of the gradient fooling images keep 99 % for their class after a Gaussian blur of σ = 1 pixel,
    /// predicted before running: (a) all of them, (b) more than half, (c) some but at most half, (d) none. The explanation
    /// compares the low-resolution elites under the same blur.
    /// </summary>
    public static ExerciseResult AfterBlur(string? prediction, VisionModel model, FoolingResult byGradient, FoolingResult lowResolution)
    {
        const string title = "Fooling images after a blur";
        if (Exercise.Unanswered(title, prediction, BlurChoices, out var unanswered))
            return unanswered;
        using var quiet = ProgressDisplay.Silence();   // a check shows its verdict and nothing else
        (int Count, double Mean) Surviving(FoolingResult result)
        {
            using var scope = NewDisposeScope();
            var blurred = result.Images.clone();
            new Blur(Sigma: 1.0, Every: 1).Apply(blurred, 0);
            var classes = tensor(result.Classes.Select(c => (long)c).ToArray()).unsqueeze(1);
            var confidence = model.Probabilities(blurred).cpu().gather(1, classes);
            return ((int)confidence.ge(result.Goal).sum().item<long>(), confidence.mean().item<float>());
        }
        var (gradient, smooth) = (Surviving(byGradient), Surviving(lowResolution));
        int count = byGradient.Classes.Count;
        var outcome = gradient.Count == count ? "a" : 2 * gradient.Count > count ? "b" : gradient.Count > 0 ? "c" : "d";
        var comparison = smooth.Count > gradient.Count
            ? "The smooth low-resolution genomes hold up better: a blur changes a smooth image less than one built of pixel-sized strokes."
            : "Even the smooth low-resolution elites fall: both searches stop once every class has passed the goal, so nothing pushed the images further than needed, and a change that is not aimed at the class can push them back.";
        return Exercise.Prediction(title, prediction, outcome,
            $"After the blur, {gradient.Count} of the {count} gradient images still get {byGradient.Goal:P0} for their class (mean probability " +
            $"{gradient.Mean:P0}), and {smooth.Count} of the {lowResolution.Classes.Count} low-resolution elites (mean {smooth.Mean:P0}). {comparison} " +
            "Confidence is not robustness: 99 % says how far past the boundary an image is, not how wide the region around it is.");
    }

    /// <summary>
    /// Exercise 3: the MAP-Elites archive update written by the student: given the elites' probabilities of their classes
    /// (K) and the offspring's probabilities of every class (P x K), each class keeps its elite or takes the best offspring
    /// if that is better. Returns the new elite probabilities (K) and, for each class, the offspring that became its elite
    /// or −1. Checked on seeded random probabilities against the rule the kit's evolution follows.
    /// </summary>
    public static ExerciseResult ArchiveUpdate(Func<Tensor, Tensor, (Tensor Fitness, Tensor Parent)?> yours, int seed = 3)
    {
        using var scope = NewDisposeScope();
        using var random = new Generator((ulong)seed);
        var elites = 0.6 + 0.4 * rand(new long[] { 10 }, generator: random);   // some elites beat every offspring, some do not
        var offspring = nn.functional.softmax(randn(new long[] { 40, 10 }, generator: random) * 3, 1);
        var (best, index) = offspring.max(0);
        var better = best.gt(elites);
        var expected = stack([where(better, best, elites), where(better, index.to_type(ScalarType.Float32), full_like(best, -1f))]);
        return Exercise.Implementation("The MAP-Elites archive update", () =>
            {
                var answer = yours(elites.clone(), offspring.clone());
                return answer is { } a ? stack([a.Fitness.to_type(ScalarType.Float32), a.Parent.to_type(ScalarType.Float32)]) : null;
            }, expected,
            "Each class (a column of the offspring) compares its elite with its best offspring only; a class whose elite is not " +
            "beaten keeps its elite's probability and −1, and the index is the offspring's row.", tolerance: 1e-6);
    }
}
