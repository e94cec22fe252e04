using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Adversarial;

/// <summary>Settings of FGSM.</summary>
/// <param name="Epsilon">How far each pixel may move (the L∞ budget), in pixel units of [0,1].</param>
public sealed record FgsmOptions(double Epsilon = 0.03)
{
    public void Validate() => AttackSteps.CheckPixelAmount(Epsilon, nameof(Epsilon), "Epsilon");
}

/// <summary>
/// The fast gradient sign method (Goodfellow et al., 2015): one step of size ε in the sign of the loss gradient,
/// every pixel moved by exactly ε (unless [0,1] cuts it). Untargeted it climbs the loss of the true class; targeted
/// it descends the loss of each image's target.
/// </summary>
public sealed class Fgsm(VisionModel model, FgsmOptions? options = null) : IAttack
{
    public FgsmOptions Options { get; } = options ?? new FgsmOptions();

    public AttackResult Run(Tensor pixels, Tensor labels, Targets? targets = null)
    {
        Options.Validate();
        using var scope = NewDisposeScope();
        var (original, goal) = AttackSteps.Prepare(model, pixels, labels, targets);
        var direction = AttackSteps.AttackDirection(model, original, goal);
        var adversarial = (original + Options.Epsilon * direction).clamp(0, 1);
        return AttackSteps.Result(model, original, adversarial, goal);
    }
}
