using WhatNetworksLearn.Adversarial;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Exercises;

/// <summary>
/// The checks of notebook 13-one-pixel's exercises. The implementation exercises compute the expected answer with the
/// kit's own differential evolution (<see cref="OnePixel"/>) on the notebook's model and images; the prediction reads
/// the shipped results file, which the notebook shows only after the check.
/// </summary>
public static class OnePixelExercises
{
    /// <summary>The population of the implementation exercises: one candidate pixel (x, y, grey) per row, P x 1 x 3.</summary>
    const int Population = 20;

    /// <summary>
    /// A seeded population of one-pixel candidates for a <paramref name="height"/> x <paramref name="width"/> grey image,
    /// and for each candidate three distinct others (P x 3), drawn as the kit draws them.
    /// </summary>
    static (Tensor Population, Tensor Others) Draw(long height, long width, int seed)
    {
        using var generator = new Generator((ulong)seed);
        var x = rand(new long[] { Population, 1, 1 }, generator: generator) * (width - 1);
        var y = rand(new long[] { Population, 1, 1 }, generator: generator) * (height - 1);
        var grey = rand(new long[] { Population, 1, 1 }, generator: generator);
        var keys = rand(new long[] { Population, Population }, generator: generator) + eye(Population) * 2;   // itself last
        return (cat([x, y, grey], 2), keys.argsort(1)[.., ..3]);
    }

    /// <summary>Exercise 2: the DE/rand/1 mutation x_r1 + F (x_r2 − x_r3), written by the student, on a seeded population.</summary>
    public static ExerciseResult Mutation(Func<Tensor, Tensor, float, Tensor?> yours, VisionModel model, OnePixelOptions options, int seed = 1)
    {
        using var scope = NewDisposeScope();
        var (population, others) = Draw(model.Input.Height, model.Input.Width, seed);
        var expected = OnePixel.DeRand1(population.unsqueeze(0), others.unsqueeze(0), options.MutationFactor).squeeze(0);
        return Exercise.Implementation("The DE/rand/1 mutation", () => yours(population.clone(), others.clone(), options.MutationFactor), expected,
            "Row i of the result is built from the three candidates whose row numbers stand in row i of others (r1, r2, r3), " +
            "not from candidate i itself; F scales only the difference of the second and the third.", tolerance: 1e-5);
    }

    /// <summary>
    /// Exercise 3: greedy selection written by the student: the mutants (repaired into the image) against their parents,
    /// with the losses the kit's attack gives them on the first of <paramref name="images"/> (probability of its true class).
    /// </summary>
    public static ExerciseResult Selection(Func<Tensor, Tensor, Tensor, Tensor, Tensor?> yours, VisionModel model, Tensor images, Tensor labels,
        OnePixelOptions options, int seed = 2)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var mode = model.EvaluationMode();
        long height = model.Input.Height, width = model.Input.Width;
        var (population, others) = Draw(height, width, seed);
        var parents = population.unsqueeze(0);
        var trial = OnePixel.Repair(OnePixel.DeRand1(parents, others.unsqueeze(0), options.MutationFactor), height, width);
        var attack = new OnePixel(model, options with { Pixels = 1 });
        var (image, goal) = AttackSteps.Prepare(model, images.narrow(0, 0, 1), labels.narrow(0, 0, 1), targets: null);
        var parentLoss = attack.Evaluate(image, parents.to(model.Device), goal).Loss.cpu();
        var trialLoss = attack.Evaluate(image, trial.to(model.Device), goal).Loss.cpu();
        var expected = OnePixel.Survivors(parents, trial, trialLoss.le(parentLoss)).squeeze(0);
        return Exercise.Implementation("Greedy selection", () => yours(parents.squeeze(0).clone(), parentLoss.squeeze(0).clone(), trial.squeeze(0).clone(), trialLoss.squeeze(0).clone()),
            expected,
            "The loss is the probability of the true class, which the attack wants LOW. A trial takes its parent's place where its loss is " +
            "at most the parent's; compare the two loss vectors element by element and choose whole rows (reshape the comparison to P x 1 x 1).", tolerance: 1e-6);
    }

    /// <summary>The choices of the prediction exercise, by letter.</summary>
    static readonly string[] SearchChoices = ["a", "b", "c"];

    /// <summary>
    /// Exercise 1: differential evolution against random search with the same budget and seed, at the paper's settings,
    /// over the images of the shipped results file (<paramref name="shipped"/>), predicted before the notebook shows them:
    /// within the whole budget, random search breaks (a) clearly fewer images (under ¾ as many), (b) about as many,
    /// (c) clearly more (over 1¼ times as many). Reads the file's counts: no search runs, so the check answers at once.
    /// </summary>
    public static ExerciseResult RandomSearch(string? prediction, ShippedOnePixel shipped)
    {
        const string title = "Evolution against random search";
        if (Exercise.Unanswered(title, prediction, SearchChoices, out var unanswered))
            return unanswered;
        using var quiet = ProgressDisplay.Silence();   // a check shows its verdict and nothing else
        int byEvolution = shipped.EvolutionSuccesses[^1], byChance = shipped.RandomSuccesses[^1];
        var outcome = byChance > 1.25 * byEvolution ? "c" : byChance < 0.75 * byEvolution ? "a" : "b";
        return Exercise.Prediction(title, prediction, outcome,
            $"Of the {shipped.Images} images, differential evolution broke {byEvolution} and random search {byChance}, each within " +
            $"{shipped.Budgets[^1]:N0} candidates per image. Both begin with the same {shipped.Population} random candidates; after that, " +
            "random search draws every candidate afresh, anywhere in the image, while the evolution builds each new one from three it already " +
            "has and keeps it only where it lowers the probability of the true class. " +
            $"Yet the shared random start alone broke {shipped.EvolutionSuccesses[0]} of them: on this network an image that one pixel can break " +
            "usually has many pixels that do, and a blind guess finds one, which leaves selection little to do. " +
            "The chart below shows when each search found its successes.");
    }
}
