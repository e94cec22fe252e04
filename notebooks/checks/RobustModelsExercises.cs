using WhatNetworksLearn.Adversarial;
using WhatNetworksLearn.Data;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Models.Training;
using WhatNetworksLearn.Notebook;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Exercises;

/// <summary>
/// The checks of notebook 20-robust-models' exercises. Each computes the expected answer with the kit's own training
/// step and attacks on the notebook's networks and sample, so the notebook never shows it.
/// </summary>
public static class RobustModelsExercises
{
    /// <summary>
    /// Exercise 1: the batch adversarial training learns from, FGSM with a random start (Wong et al. 2020), written by
    /// the student and checked against the kit's training step on 16 sample images with seeded noise.
    /// </summary>
    public static ExerciseResult AdversarialBatch(Func<Func<Tensor, Tensor>, Tensor, Tensor, double, Tensor?> yours, VisionModel model,
        FashionMnist.LabeledImages sample, double epsilon = 0.1, int seed = 0)
    {
        using var scope = NewDisposeScope();
        var images = sample.Images.narrow(0, 0, 16).cpu();
        var labels = sample.Labels.narrow(0, 0, 16).to(ScalarType.Int64).to(model.Device);
        using var generator = new Generator((ulong)seed);
        var noise = rand(images.shape, generator: generator) * 2 - 1;
        Func<Tensor, Tensor> lossGradient = x =>
            InputGradient.Of(model, x, input => nn.functional.cross_entropy(model.Module.forward(input), labels, reduction: nn.Reduction.Sum)).cpu();
        var expected = FashionCnnTraining.AttackFromRandomStart(lossGradient, images, noise, epsilon);
        return Exercise.Implementation($"One adversarial training batch (eps {epsilon})", () => yours(lossGradient, images.clone(), noise.clone(), epsilon), expected,
            "Start at the image moved by ε × noise and clamped to [0, 1]; take ONE step of 1.25 ε in the sign of the loss gradient at that " +
            "start; then pull every pixel back to within ε of the original image, and into [0, 1].", tolerance: 1e-5);
    }

    /// <summary>The choices of exercise 2, by letter.</summary>
    static readonly string[] TransferChoices = ["a", "b", "c"];

    /// <summary>
    /// Exercise 2: how many of the adversarial images made against fashion-cnn (PGD at ε) also fool the robust network,
    /// predicted before running: (a) most of them (60 % or more), (b) between a quarter and 60 %, (c) fewer than a quarter.
    /// </summary>
    public static ExerciseResult Transfer(string? prediction, VisionModel standard, VisionModel robust, FashionMnist.LabeledImages sample,
        double epsilon = 0.1, int images = 100)
    {
        const string title = "Do fashion-cnn's adversarial images fool the robust network?";
        if (Exercise.Unanswered(title, prediction, TransferChoices, out var unanswered))
            return unanswered;
        using var quiet = ProgressDisplay.Silence();   // a check shows its verdict and nothing else
        var (fooledStandard, transferred, cleanError, own) = TransferRates(standard, robust, sample, epsilon, images);
        var outcome = transferred >= 0.6 ? "a" : transferred >= 0.25 ? "b" : "c";
        return Exercise.Prediction(title, prediction, outcome,
            $"PGD at ε = {epsilon} fools fashion-cnn on {fooledStandard:P0} of these {images} images; fashion-cnn-robust gets {transferred:P0} " +
            $"of the same adversarial images wrong, against {cleanError:P0} of the clean images, while PGD aimed at the robust network itself " +
            $"gets {own:P0} wrong. The changes that fool fashion-cnn follow fashion-cnn's own gradient, speckle spread over the image; " +
            "adversarial training taught the robust network to ignore exactly such small changes. An attack transfers between networks " +
            "that rely on the same faint patterns, not to one that was trained not to.");
    }

    /// <summary>The rates exercise 2 explains with, computed once per kernel for the same networks and images (the check runs again on every answer).</summary>
    static (double FooledStandard, double Transferred, double CleanError, double Own) TransferRates(VisionModel standard, VisionModel robust,
        FashionMnist.LabeledImages sample, double epsilon, int images)
    {
        var key = $"{standard.Name}|{robust.Name}|{epsilon}|{images}|{sample.Images.shape[0]}";
        lock (TransferCache)
        {
            if (TransferCache.TryGetValue(key, out var known))
                return known;
            using var scope = NewDisposeScope();
            var x = sample.Images.narrow(0, 0, images).cpu();
            var y = sample.Labels.narrow(0, 0, images).to(ScalarType.Int64).cpu();
            double Error(VisionModel model, Tensor pixels) =>
                tensor(model.Predict(pixels).Select(p => (long)p.Class).ToArray()).ne(y).to_type(ScalarType.Float64).mean().item<double>();
            using var attack = new Pgd(standard, new PgdOptions(epsilon, epsilon / 4, 10, Seed: 0)).Run(x, y);
            using var own = new Pgd(robust, new PgdOptions(epsilon, epsilon / 4, 10, Seed: 0)).Run(x, y);
            return TransferCache[key] = (attack.SuccessRate, Error(robust, attack.Adversarial), Error(robust, x), own.SuccessRate);
        }
    }

    static readonly Dictionary<string, (double, double, double, double)> TransferCache = [];

    /// <summary>
    /// Exercise 3: robust accuracy from two attacks' per-image verdicts, the worst case per image, written by the student.
    /// Checked on a hand-made pair where the two attacks break different images, and on the robust network's own PGD and
    /// APGD verdicts for the first 100 sample images.
    /// </summary>
    public static ExerciseResult WorstCase(Func<Tensor, Tensor, double> yours, VisionModel robust, FashionMnist.LabeledImages sample, double epsilon = 0.1)
    {
        using var scope = NewDisposeScope();
        var x = sample.Images.narrow(0, 0, 100).cpu();
        var y = sample.Labels.narrow(0, 0, 100).to(ScalarType.Int64).cpu();
        using var pgd = new Pgd(robust, new PgdOptions(epsilon, epsilon / 4, 5, Seed: 0)).Run(x, y);
        using var apgd = new Apgd(robust, new ApgdOptions(epsilon, 5, Seed: 0)).Run(x, y);
        var cases = new (Tensor Pgd, Tensor Apgd)[]
        {
            (tensor(new[] { true, true, false, false }), tensor(new[] { true, false, true, false })),
            (pgd.AdversarialPrediction.eq(y), apgd.AdversarialPrediction.eq(y)),
        };
        var title = "Robust accuracy, worst case per image";
        const string hint = "An image counts as robust only if it survives every attack: combine the two verdicts image by image, then take the mean.";
        for (int i = 0; i < cases.Length; i++)
        {
            var (a, b) = cases[i];
            double expected = (a & b).to_type(ScalarType.Float64).mean().item<double>();
            double? answer;
            try { answer = Exercise.Attempt<double>(() => yours(a.clone(), b.clone())); }
            catch (Exception error) { return new(title, ExerciseStatus.NotYet, $"not yet: your code threw {error.GetType().Name}: {error.Message}"); }
            if (answer is null)
                return new(title, ExerciseStatus.NotAnswered, "not answered yet: replace the NotImplementedException with your code.");
            if (Math.Abs(answer.Value - expected) > 1e-9)
                return new(title, ExerciseStatus.NotYet, $"not yet: on {(i == 0 ? "a hand-made case of four images" : "the 100 sample images")} your answer is {answer:F3}. {hint}");
        }
        return new(title, ExerciseStatus.Correct, "correct: the worst case per image, never more than the lower of the two attacks' accuracies.");
    }
}
