using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using WhatNetworksLearn.Synthesis;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Adversarial;

/// <summary>Settings of the Carlini–Wagner L2 attack.</summary>
/// <param name="Confidence">κ: how far past the decision boundary, in logits, an example must be to count (0: just past it).</param>
/// <param name="InitialConstant">The first c, the weight of the misclassification term against the squared distance.</param>
/// <param name="SearchSteps">Rounds of the binary search over c; each round runs Adam afresh from the image.</param>
/// <param name="Steps">Adam steps per round.</param>
/// <param name="LearningRate">
/// Adam's learning rate on w. The paper's 0.01 goes with up to 10,000 steps; with 100 a larger rate reaches the boundary
/// and settles there.
/// </param>
public sealed record CarliniWagnerOptions(double Confidence = 0, double InitialConstant = 1, int SearchSteps = 5, int Steps = 100,
    double LearningRate = 0.05)
{
    public void Validate()
    {
        if (!(Confidence >= 0) || double.IsInfinity(Confidence))
            throw new ArgumentOutOfRangeException(nameof(Confidence), $"The confidence κ is a margin in logits, a finite number ≥ 0; got {Confidence}.");
        if (!(InitialConstant > 0) || double.IsInfinity(InitialConstant))
            throw new ArgumentOutOfRangeException(nameof(InitialConstant), $"The constant c must be a finite number > 0 (the paper starts small, e.g. 0.01); got {InitialConstant}.");
        if (SearchSteps < 1)
            throw new ArgumentOutOfRangeException(nameof(SearchSteps), $"The binary search over c needs at least 1 round; got {SearchSteps}.");
        if (Steps < 1)
            throw new ArgumentOutOfRangeException(nameof(Steps), $"Each round needs at least 1 Adam step; got {Steps}.");
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate))
            throw new ArgumentOutOfRangeException(nameof(LearningRate), $"The learning rate must be a finite number > 0 (e.g. 0.05); got {LearningRate}.");
    }
}

/// <summary>
/// The Carlini–Wagner L2 attack (Carlini and Wagner, 2017, "Towards evaluating the robustness of neural networks"): no
/// budget, but the smallest change, in Euclidean length, that reaches the goal. Each image is written as
/// x′ = (tanh w + 1) / 2, so every w gives pixels in [0,1] and w can move freely; Adam then minimises
/// ‖x′ − x‖₂² + c · f(x′) over w, where f(x′) = max(max_{i≠t} Z_i − Z_t, −κ) on the logits Z (targeted at t: f reaches
/// −κ once t leads every other class by κ), or max(Z_y − max_{i≠y} Z_i, −κ) untargeted (away from the true class y).
/// A large c reaches the goal at any cost, a small one keeps the change small and may fail, so each image searches
/// its own c: ten times larger after a round without success, halfway towards the smallest successful c after one
/// with. The result is, per image, the smallest successful change seen in any step of any round; an image never
/// reached is given back unchanged. Deterministic: it starts from the image itself, with no random draw.
/// </summary>
public sealed class CarliniWagner(VisionModel model, CarliniWagnerOptions? options = null) : IAttack
{
    public CarliniWagnerOptions Options { get; } = options ?? new CarliniWagnerOptions();

    /// <summary>
    /// Pixels are pulled this little way inside (0,1) before atanh, as in the authors' code: atanh(±1) is infinite.
    /// The price: a pixel at exactly 0 or 1 starts at |w| ≈ 7.3, where tanh is flat, so it moves only slowly.
    /// </summary>
    const double Inside = 1 - 1e-6;

    public AttackResult Run(Tensor pixels, Tensor labels, Targets? targets = null)
    {
        Options.Validate();
        using var scope = NewDisposeScope();
        var (original, goal) = AttackSteps.Prepare(model, pixels, labels, targets);
        long n = original.shape[0];
        var perImage = new long[] { n, 1, 1, 1 };
        var start = ((original * 2 - 1) * Inside).atanh();
        var constant = full(n, Options.InitialConstant, original.dtype, device: model.Device);
        var lower = zeros_like(constant);
        var upper = full_like(constant, double.PositiveInfinity);
        var best = original.clone();
        var bestDistance = full_like(constant, double.PositiveInfinity);

        using var progress = ProgressDisplay.Start("Carlini-Wagner L2", Options.SearchSteps * Options.Steps);
        for (int round = 0; round < Options.SearchSteps; round++)
        {
            using var roundScope = NewDisposeScope();
            var w = start.clone();
            using var adam = new Adam(Options.LearningRate).Begin(w);   // fresh running means each round, steps change w in place
            var reachedThisRound = zeros(n, ScalarType.Bool, device: model.Device);
            for (int step = 0; step < Options.Steps; step++)
            {
                using var stepScope = NewDisposeScope();
                Tensor? image = null, distance = null, margin = null;
                var gradient = InputGradient.Of(model, w, leaf =>
                {
                    var x = Pixels(leaf);
                    var squared = (x - original).square().flatten(1).sum(1);
                    var beyond = Margin(model.Module.forward(x), goal);
                    // Out of the gradient's scope, into this step's: the point, its distance and margin, before the step.
                    (image, distance, margin) = (x.detach().MoveToOuterDisposeScope(), squared.detach().MoveToOuterDisposeScope(),
                        beyond.detach().MoveToOuterDisposeScope());
                    return squared + constant * (-beyond).clamp_min(-Options.Confidence);
                });
                adam.Step(-gradient);   // the kit's Adam climbs; this objective is minimised
                var reached = margin!.gt(Options.Confidence);
                var smaller = reached.logical_and(distance!.lt(bestDistance));
                best.copy_(where(smaller.reshape(perImage), image!, best));
                bestDistance.copy_(where(smaller, distance!, bestDistance));
                reachedThisRound.logical_or_(reached);
                progress.Report(round * Options.Steps + step + 1);
            }
            // Success: c was enough, look below it; failure: c was too small, look above (× 10 until one succeeds).
            upper.copy_(where(reachedThisRound, minimum(upper, constant), upper));
            lower.copy_(where(reachedThisRound, lower, maximum(lower, constant)));
            constant.copy_(where(upper.isfinite(), (lower + upper) / 2, constant * 10));
        }
        return AttackSteps.Result(model, original, best, goal);
    }

    /// <summary>The pixels of w: (tanh w + 1) / 2, always in [0,1].</summary>
    static Tensor Pixels(Tensor w) => (w.tanh() + 1) / 2;

    /// <summary>
    /// How far each image is past its goal, in logits (N x classes in, N out): the target's score over the best other
    /// class (targeted), or the best other class over the true class (untargeted); positive once the goal is reached.
    /// −f of the paper, before the cap at κ.
    /// </summary>
    static Tensor Margin(Tensor scores, AttackGoal goal)
    {
        var own = scores.gather(1, goal.Classes.unsqueeze(1)).squeeze(1);
        var isOwn = nn.functional.one_hot(goal.Classes, scores.shape[1]).to_type(ScalarType.Bool);
        var bestOther = scores.masked_fill(isOwn, double.NegativeInfinity).amax(1);
        return goal.Targeted ? own - bestOther : bestOther - own;
    }
}
