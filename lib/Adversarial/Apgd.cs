using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Adversarial;

/// <summary>Settings of APGD-CE.</summary>
/// <param name="Epsilon">How far each pixel may move in total (the L∞ budget), in pixel units of [0,1].</param>
/// <param name="Iterations">Gradient steps (N_iter); the first step size is 2 ε and the checkpoints scale with this.</param>
/// <param name="Seed">Seed of the random start in the ε-ball.</param>
public sealed record ApgdOptions(double Epsilon = 0.03, int Iterations = 100, int Seed = 0)
{
    public void Validate()
    {
        AttackSteps.CheckPixelAmount(Epsilon, nameof(Epsilon), "Epsilon");
        if (Iterations < 1)
            throw new ArgumentOutOfRangeException(nameof(Iterations), $"APGD needs at least 1 iteration; got {Iterations}.");
    }
}

/// <summary>
/// Auto-PGD with the cross-entropy loss (Croce and Hein, 2020, "Reliable evaluation of adversarial robustness with
/// an ensemble of diverse parameter-free attacks"): PGD without a step size to tune. It starts with steps of 2 ε, adds
/// momentum (0.75 of the new step, 0.25 of the last move) and, at checkpoints that come closer together as the run goes
/// on, halves an image's step and goes back to the best point found so far when the loss rose on fewer than 75 % of the
/// steps since the last checkpoint, or when neither the step nor the best loss changed since then. Each image keeps its
/// own step size. The result is, per image, a point the network misclassified (targeted: labelled as the target) if
/// any step found one, otherwise the point of highest loss. A network that PGD finds robust but APGD does not has
/// gradients that mislead a fixed-step attack ("gradient masking"), not real robustness.
/// </summary>
public sealed class Apgd(VisionModel model, ApgdOptions? options = null) : IAttack
{
    public ApgdOptions Options { get; } = options ?? new ApgdOptions();

    /// <summary>Momentum weight α of the new step (the paper's 0.75).</summary>
    const double Momentum = 0.75;
    /// <summary>ρ: below this fraction of loss increases between two checkpoints, the step is halved.</summary>
    const double IncreaseFraction = 0.75;

    /// <summary>
    /// The iterations at which APGD checks its progress: w_j = ⌈p_j N⌉ with p_0 = 0, p_1 = 0.22 and
    /// p_{j+1} = p_j + max(p_j − p_{j−1} − 0.03, 0.06), as long as p_j ≤ 1 (the paper's schedule).
    /// </summary>
    public static IReadOnlyList<int> Checkpoints(int iterations)
    {
        var fractions = new List<double> { 0, 0.22 };
        while (true)
        {
            double next = fractions[^1] + Math.Max(fractions[^1] - fractions[^2] - 0.03, 0.06);
            if (next > 1) break;
            fractions.Add(next);
        }
        // Rounded to 1e-9 first: 0.41 + 0.16 is 0.5700000000000001 in binary and must not become iteration 58 of 100.
        return fractions.Select(p => (int)Math.Ceiling(Math.Round(p * iterations, 9))).Distinct().ToList();
    }

    public AttackResult Run(Tensor pixels, Tensor labels, Targets? targets = null)
    {
        Options.Validate();
        using var scope = NewDisposeScope();
        var (original, goal) = AttackSteps.Prepare(model, pixels, labels, targets);
        double epsilon = Options.Epsilon;
        var perImage = new long[] { -1, 1, 1, 1 }[..(int)original.dim()];
        Tensor Project(Tensor x) => AttackSteps.Project(x, original, epsilon);
        Tensor PerImage(Tensor values) => values.reshape(perImage);

        using var generator = new Generator((ulong)Options.Seed);
        var x = Project(original + (rand(original.shape, generator: generator) * 2 - 1).to(model.Device) * epsilon);
        var (loss, gradient, fooled) = Evaluate(x, goal);
        var found = x.clone();                       // a fooling point per image, where one was seen
        var everFooled = fooled.clone();
        var best = x.clone();
        var bestLoss = loss.clone();
        var bestGradient = gradient.clone();
        var step = full(original.shape[0], 2 * epsilon, device: model.Device);
        var previous = x.clone();
        var increases = zeros(original.shape[0], device: model.Device);
        var bestAtCheckpoint = bestLoss.clone();
        var halvedAtCheckpoint = zeros(original.shape[0], ScalarType.Bool, device: model.Device);
        var checkpoints = Checkpoints(Options.Iterations);
        int lastCheckpoint = 0;

        using var progress = ProgressDisplay.Start("APGD-CE", Options.Iterations);
        for (int k = 0; k < Options.Iterations; k++)
        {
            using var stepScope = NewDisposeScope();
            var ascent = Project(x + PerImage(step) * gradient.sign());
            var next = k == 0 ? ascent : Project(x + Momentum * (ascent - x) + (1 - Momentum) * (x - previous));
            previous.copy_(x);
            x.copy_(next);
            var (newLoss, newGradient, newFooled) = Evaluate(x, goal);
            increases.add_(newLoss.gt(loss).to_type(ScalarType.Float32));
            loss.copy_(newLoss);
            gradient.copy_(newGradient);
            found.copy_(where(PerImage(newFooled & everFooled.logical_not()), x, found));
            everFooled.logical_or_(newFooled);
            var improved = newLoss.gt(bestLoss);
            best.copy_(where(PerImage(improved), x, best));
            bestGradient.copy_(where(PerImage(improved), newGradient, bestGradient));
            bestLoss.copy_(maximum(bestLoss, newLoss));

            if (checkpoints.Contains(k + 1) && k + 1 > lastCheckpoint)
            {
                var oscillating = increases.lt(IncreaseFraction * (k + 1 - lastCheckpoint));
                var stalled = halvedAtCheckpoint.logical_not() & bestLoss.le(bestAtCheckpoint);
                var halve = oscillating | stalled;
                step.copy_(where(halve, step / 2, step));
                x.copy_(where(PerImage(halve), best, x));
                gradient.copy_(where(PerImage(halve), bestGradient, gradient));
                loss.copy_(where(halve, bestLoss, loss));
                halvedAtCheckpoint.copy_(halve);
                bestAtCheckpoint.copy_(bestLoss);
                increases.zero_();
                lastCheckpoint = k + 1;
            }
            progress.Report(k + 1);
        }
        var adversarial = where(PerImage(everFooled), found, best);
        return AttackSteps.Result(model, original, adversarial, goal);
    }

    /// <summary>
    /// The loss APGD climbs at <paramref name="x"/> (<see cref="AttackGoal.Loss"/>: cross-entropy of the true class, or
    /// minus that of the target), its gradient, and whether the network already gets it wrong (targeted: labels it as
    /// the target), per image.
    /// </summary>
    (Tensor Loss, Tensor Gradient, Tensor Fooled) Evaluate(Tensor x, AttackGoal goal)
    {
        Tensor? prediction = null;
        using var result = InputGradient.Take(model, x, input =>
        {
            var scores = model.Module.forward(input);
            prediction = scores.detach().argmax(1).MoveToOuterDisposeScope();   // out of Take's scope, into the caller's
            return goal.Loss(scores);
        });
        return (result.Values.alias(), result.Gradient.alias(), goal.ReachedBy(prediction!));
    }
}
