using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using WhatNetworksLearn.Synthesis;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Adversarial;

/// <summary>Settings of projected gradient descent.</summary>
/// <param name="Epsilon">How far each pixel may move in total (the L∞ budget), in pixel units of [0,1].</param>
/// <param name="StepSize">How far each step moves a pixel (α).</param>
/// <param name="Steps">Number of signed-gradient steps.</param>
/// <param name="RandomStart">Start from a uniformly random point of the ε-ball instead of the image itself.</param>
/// <param name="Seed">Seed of the random start and of the random transformations.</param>
/// <param name="RobustTo">
/// Expectation over transformation (Athalye et al., 2018): when set, every step follows the gradient averaged over
/// <paramref name="Draws"/> random draws of this transformation (for example <see cref="PrintAndPhoto"/>), so the
/// example stays adversarial after the transformation, not just on the exact pixels. Null: plain PGD.
/// </param>
/// <param name="Draws">Random draws of <paramref name="RobustTo"/> per step (k): k transformed copies of the batch go through the network.</param>
public sealed record PgdOptions(double Epsilon = 0.03, double StepSize = 0.01, int Steps = 20, bool RandomStart = true, int Seed = 0,
    ITransform? RobustTo = null, int Draws = 8)
{
    public void Validate()
    {
        AttackSteps.CheckPixelAmount(Epsilon, nameof(Epsilon), "Epsilon");
        AttackSteps.CheckPixelAmount(StepSize, nameof(StepSize), "The step size");
        if (Steps < 0)
            throw new ArgumentOutOfRangeException(nameof(Steps), $"The number of steps must be ≥ 0; got {Steps}.");
        if (Draws < 1)
            throw new ArgumentOutOfRangeException(nameof(Draws), $"Averaging over transformations needs at least 1 draw per step; got {Draws}.");
    }
}

/// <summary>
/// Projected gradient descent (Madry et al., 2018), the iterated FGSM: from a random point near the image, take small
/// signed-gradient steps and after each one pull every pixel back into the ε-ball around the original and into
/// [0,1]. Targeted, it walks down the loss of each image's target until the network sees that class. With
/// <see cref="PgdOptions.RobustTo"/> it becomes EOT-PGD: each step averages the gradient over random transformations.
/// </summary>
public sealed class Pgd(VisionModel model, PgdOptions? options = null) : IAttack
{
    public PgdOptions Options { get; } = options ?? new PgdOptions();

    public AttackResult Run(Tensor pixels, Tensor labels, Targets? targets = null)
    {
        Options.Validate();
        using var scope = NewDisposeScope();
        var (original, goal) = AttackSteps.Prepare(model, pixels, labels, targets);
        var adversarial = original.clone();
        using var generator = new Generator((ulong)Options.Seed);
        if (Options.RandomStart)
        {
            var noise = (rand(original.shape, generator: generator) * 2 - 1) * Options.Epsilon;
            adversarial = Project(original + noise.to(model.Device), original);
        }
        using (var progress = ProgressDisplay.Start(Options.RobustTo is null ? "PGD" : "EOT-PGD", Options.Steps))
            for (int step = 0; step < Options.Steps; step++)
            {
                using var stepScope = NewDisposeScope();
                var direction = Options.RobustTo is { } transform
                    ? ExpectedDirection(transform, adversarial, goal, generator)
                    : AttackSteps.AttackDirection(model, adversarial, goal);
                adversarial.copy_(Project(adversarial + Options.StepSize * direction, original));
                progress.Report(step + 1);
            }
        return AttackSteps.Result(model, original, adversarial, goal);
    }

    /// <summary>Pixel values per batched pass of the transformed copies: small images run many draws at once, large ones few.</summary>
    const long PixelsPerPass = 1 << 21;

    /// <summary>
    /// The sign of the attack's loss gradient (<see cref="AttackGoal.Loss"/>) summed (so: averaged) over
    /// <see cref="PgdOptions.Draws"/> random draws of the transformation. Several draws go through the network as one
    /// batch of copies (each copy gets its own random transformation), as many as fit <see cref="PixelsPerPass"/>.
    /// </summary>
    Tensor ExpectedDirection(ITransform transform, Tensor images, AttackGoal goal, Generator random)
    {
        using var scope = NewDisposeScope();
        long n = images.shape[0];
        int perPass = (int)Math.Clamp(PixelsPerPass / Math.Max(1, images.numel()), 1, Options.Draws);
        var total = zeros_like(images);
        for (int done = 0; done < Options.Draws; done += perPass)
        {
            using var passScope = NewDisposeScope();
            int copies = Math.Min(perPass, Options.Draws - done);
            var copiesGoal = goal.Select(arange(n, device: images.device).repeat(copies));
            total.add_(InputGradient.Of(model, images, input =>
                copiesGoal.Loss(model.Module.forward(transform.Apply(input.repeat(copies, 1, 1, 1), random)))));
        }
        return total.sign().MoveToOuterDisposeScope();
    }

    Tensor Project(Tensor images, Tensor original) => AttackSteps.Project(images, original, Options.Epsilon);
}
