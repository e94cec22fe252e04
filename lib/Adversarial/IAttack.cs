using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Adversarial;

/// <summary>
/// What an attack produced for a batch: the adversarial images, the change made, and the model's answers before
/// and after. All tensors are on the CPU; <see cref="Success"/> says, per image, whether the attack reached its goal
/// (untargeted: the prediction left the true class; targeted: the prediction is the target).
/// </summary>
public sealed record AttackResult(Tensor Adversarial, Tensor Perturbation, Tensor OriginalPrediction, Tensor AdversarialPrediction,
    Tensor AdversarialProbability, Tensor Success) : IDisposable
{
    /// <summary>The fraction of images on which the attack reached its goal.</summary>
    public double SuccessRate => Success.to_type(ScalarType.Float32).mean().item<float>();

    public void Dispose()
    {
        Adversarial.Dispose();
        Perturbation.Dispose();
        OriginalPrediction.Dispose();
        AdversarialPrediction.Dispose();
        AdversarialProbability.Dispose();
        Success.Dispose();
    }
}

/// <summary>
/// The shape every attack of the kit shares (as in torchattacks): built around a model with its settings, run on a
/// batch of images in pixel space (N x C x H x W in [0,1]) with their true labels, untargeted or targeted. Adversarial
/// images always stay in [0,1]. Randomness comes from the attack's seed. A new attack is built from <see cref="AttackSteps"/>.
/// </summary>
public interface IAttack
{
    /// <summary>
    /// Attacks <paramref name="pixels"/>. <paramref name="targets"/> null: untargeted, each image should leave its true
    /// class (<paramref name="labels"/>); otherwise each image should become its target, one class for every image or one
    /// per image (<see cref="Targets"/>, as attributions take them).
    /// </summary>
    AttackResult Run(Tensor pixels, Tensor labels, Targets? targets = null);
}
