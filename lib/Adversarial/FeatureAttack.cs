using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Adversarial;

/// <summary>Settings of the feature-space attack.</summary>
/// <param name="Epsilon">How far each pixel may move in total (the L∞ budget), in pixel units of [0,1].</param>
/// <param name="Steps">Number of signed-gradient steps.</param>
/// <param name="StepFraction">Each step moves a pixel by this fraction of ε (α = fraction × ε), so one setting suits every budget.</param>
/// <param name="RandomStart">Start from a uniformly random point of the ε-ball instead of the image itself.</param>
/// <param name="Seed">Seed of the random start.</param>
public sealed record FeatureAttackOptions(double Epsilon = 8.0 / 255, int Steps = 10, double StepFraction = 0.25, bool RandomStart = false, int Seed = 0)
{
    public void Validate()
    {
        AttackSteps.CheckPixelAmount(Epsilon, nameof(Epsilon), "Epsilon");
        if (Steps < 0)
            throw new ArgumentOutOfRangeException(nameof(Steps), $"The number of steps must be ≥ 0; got {Steps}.");
        if (!(StepFraction > 0 && StepFraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(StepFraction), $"The step is a fraction of ε in (0, 1]; got {StepFraction}.");
    }
}

/// <summary>
/// What the feature attack produced, one row per attacked image, all on the CPU.
/// </summary>
/// <param name="Adversarial">The adversarial images, in [0,1] and within ε of the originals.</param>
/// <param name="Perturbation">Adversarial minus original.</param>
/// <param name="Epsilon">The budget each image had.</param>
/// <param name="Features">The model's features of the adversarial images (N x D).</param>
/// <param name="GuideDistanceBefore">Euclidean distance from the original image's features to the guide's.</param>
/// <param name="GuideDistanceAfter">Euclidean distance from the adversarial image's features to the guide's.</param>
/// <param name="OwnDistanceAfter">Euclidean distance from the adversarial image's features to the original image's own features.</param>
public sealed record FeatureAttackResult(Tensor Adversarial, Tensor Perturbation, Tensor Epsilon, Tensor Features,
    Tensor GuideDistanceBefore, Tensor GuideDistanceAfter, Tensor OwnDistanceAfter) : IDisposable
{
    /// <summary>Per image: are the adversarial image's features now nearer the guide's than the image's own original features?</summary>
    public Tensor CloserToGuide => GuideDistanceAfter.lt(OwnDistanceAfter);

    Tensor[] All => [Adversarial, Perturbation, Epsilon, Features, GuideDistanceBefore, GuideDistanceAfter, OwnDistanceAfter];

    /// <summary>Moves every tensor out of the current dispose scope (the last step of the attack).</summary>
    internal FeatureAttackResult MoveToOuterDisposeScope()
    {
        foreach (var t in All)
            t.MoveToOuterDisposeScope();
        return this;
    }

    public void Dispose()
    {
        foreach (var t in All)
            t.Dispose();
    }
}

/// <summary>
/// Adversarial manipulation of a representation (Sabour, Cao, Faghri and Fleet, 2016): change an image within an L∞
/// budget ε so that a network's features of it come close to the features of another image, the guide. The image
/// still looks like itself; the network's description of it is the guide's. Sabour et al. use L-BFGS; here it is
/// projected gradient descent (Madry et al., 2018) on the Euclidean distance ‖f(x) − f(guide)‖, the features f being the
/// model's output (for the ResNet-18 trunk: the 512 pooled features): signed-gradient steps, each followed by the
/// projection into the ε-ball around the original and into [0,1].
/// </summary>
public sealed class FeatureAttack(VisionModel model, FeatureAttackOptions? options = null)
{
    public FeatureAttackOptions Options { get; } = options ?? new FeatureAttackOptions();

    /// <summary>
    /// Moves each image of <paramref name="pixels"/> (N x C x H x W in [0,1]) towards the features of the matching image of
    /// <paramref name="guides"/> (N images, or one guide for all), within the options' ε.
    /// </summary>
    public FeatureAttackResult Run(Tensor pixels, Tensor guides)
    {
        Options.Validate();
        model.CheckInput(pixels);
        return Attack(pixels, guides, Enumerable.Repeat(Options.Epsilon, (int)pixels.shape[0]).ToArray());
    }

    /// <summary>
    /// Attacks one image (1 x C x H x W, or C x H x W) towards one guide at every budget of <paramref name="epsilons"/>,
    /// all budgets as one batch (row i of the result has budget i): the way to find the smallest ε that does something.
    /// </summary>
    public FeatureAttackResult Sweep(Tensor image, Tensor guide, IReadOnlyList<double> epsilons)
    {
        Options.Validate();
        if (epsilons.Count == 0)
            throw new ArgumentException("Give at least one budget ε.", nameof(epsilons));
        foreach (var epsilon in epsilons)
            AttackSteps.CheckPixelAmount(epsilon, nameof(epsilons), "Every ε");
        var one = image.dim() == 3 ? image.unsqueeze(0) : image;
        model.CheckInput(one);
        if (one.shape[0] != 1)
            throw new ArgumentException($"Sweep attacks one image; got {one.shape[0]}. Use Run for a batch.", nameof(image));
        using var scope = NewDisposeScope();
        return Attack(one.expand(epsilons.Count, -1, -1, -1), guide, [.. epsilons]).MoveToOuterDisposeScope();
    }

    FeatureAttackResult Attack(Tensor pixels, Tensor guides, double[] epsilons)
    {
        var guideBatch = guides.dim() == 3 ? guides.unsqueeze(0) : guides;
        model.CheckInput(guideBatch);
        if (guideBatch.shape[0] != 1 && guideBatch.shape[0] != pixels.shape[0])
            throw new ArgumentException($"Give one guide for all images or one per image ({pixels.shape[0]}); got {guideBatch.shape[0]}.", nameof(guides));
        using var scope = NewDisposeScope();
        var original = pixels.detach().to(ScalarType.Float32, model.Device).contiguous();
        var epsilon = tensor(epsilons, ScalarType.Float32, model.Device).reshape(-1, 1, 1, 1);
        Tensor Features(Tensor x) => model.Module.forward(x).flatten(1);
        Tensor goal, own;
        using (no_grad())
        using (model.EvaluationMode())
        {
            goal = Features(guideBatch.to(ScalarType.Float32, model.Device)).expand(pixels.shape[0], -1);
            own = Features(original);
        }
        var adversarial = original.clone();
        if (Options.RandomStart)
        {
            using var generator = new Generator((ulong)Options.Seed);
            var noise = (rand(original.shape, generator: generator).to(model.Device) * 2 - 1) * epsilon;
            adversarial = AttackSteps.Project(original + noise, original, epsilon);
        }
        var stepSize = epsilon * Options.StepFraction;
        using (var progress = ProgressDisplay.Start("Feature attack", Options.Steps))
            for (int step = 0; step < Options.Steps; step++)
            {
                using var stepScope = NewDisposeScope();
                var gradient = InputGradient.Of(model, adversarial, x => (Features(x) - goal).square().sum(1));
                adversarial.copy_(AttackSteps.Project(adversarial - stepSize * gradient.sign(), original, epsilon));
                progress.Report(step + 1);
            }
        using (no_grad())
        using (model.EvaluationMode())
        {
            var reached = Features(adversarial);
            var result = new FeatureAttackResult(adversarial.cpu(), (adversarial - original).cpu(), epsilon.flatten().cpu(), reached.cpu(),
                Distance(own, goal), Distance(reached, goal), Distance(reached, own));
            return result.MoveToOuterDisposeScope();
        }
    }

    static Tensor Distance(Tensor a, Tensor b) => (a - b).square().sum(1).sqrt().cpu();
}
