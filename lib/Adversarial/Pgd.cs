using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Adversarial;

/// <summary>Settings of projected gradient descent.</summary>
/// <param name="Epsilon">How far each pixel may move in total (the L∞ budget), in pixel units of [0,1].</param>
/// <param name="StepSize">How far each step moves a pixel (α).</param>
/// <param name="Steps">Number of signed-gradient steps.</param>
/// <param name="RandomStart">Start from a uniformly random point of the ε-ball instead of the image itself.</param>
/// <param name="Seed">Seed of the random start.</param>
public sealed record PgdOptions(double Epsilon = 0.03, double StepSize = 0.01, int Steps = 20, bool RandomStart = true, int Seed = 0)
{
    public void Validate()
    {
        AttackSteps.CheckPixelAmount(Epsilon, nameof(Epsilon), "Epsilon");
        AttackSteps.CheckPixelAmount(StepSize, nameof(StepSize), "The step size");
        if (Steps < 0)
            throw new ArgumentOutOfRangeException(nameof(Steps), $"The number of steps must be ≥ 0; got {Steps}.");
    }
}

/// <summary>
/// Projected gradient descent (Madry et al., 2018), the iterated FGSM: from a random point near the image, take small
/// signed-gradient steps and after each one pull every pixel back into the ε-ball around the original and into
/// [0,1]. Targeted, it walks down the loss of one class until the network sees that class.
/// </summary>
public sealed class Pgd(VisionModel model, PgdOptions? options = null) : IAttack
{
    public PgdOptions Options { get; } = options ?? new PgdOptions();

    public AttackResult Run(Tensor pixels, Tensor labels, int? targetClass = null)
    {
        Options.Validate();
        using var scope = NewDisposeScope();
        var (original, onDevice) = AttackSteps.Prepare(model, pixels, labels, targetClass);
        var adversarial = original.clone();
        if (Options.RandomStart)
        {
            using var generator = new Generator((ulong)Options.Seed);
            var noise = (rand(original.shape, generator: generator) * 2 - 1) * Options.Epsilon;
            adversarial = Project(original + noise.to(model.Device), original);
        }
        using (var progress = ProgressDisplay.Start("PGD", Options.Steps))
            for (int step = 0; step < Options.Steps; step++)
            {
                using var stepScope = NewDisposeScope();
                var direction = AttackSteps.AttackDirection(model, adversarial, onDevice, targetClass);
                adversarial.copy_(Project(adversarial + Options.StepSize * direction, original));
                progress.Report(step + 1);
            }
        return AttackSteps.Result(model, original, adversarial, onDevice, targetClass);
    }

    /// <summary>Back into the ε-ball around the original, then into [0,1] (the order keeps both constraints).</summary>
    Tensor Project(Tensor images, Tensor original) =>
        minimum(maximum(images, original - Options.Epsilon), original + Options.Epsilon).clamp(0, 1);
}
