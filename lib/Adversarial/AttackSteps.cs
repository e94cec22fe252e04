using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Adversarial;

/// <summary>
/// What an attack aims at in each image of a batch, checked and on the model's device (made by
/// <see cref="AttackSteps.Prepare"/>). <see cref="Labels"/> are the images' true classes (int64); <see cref="Classes"/>
/// are the classes the attack's loss is taken against: each image's own target when <see cref="Targeted"/>, otherwise
/// its true class.
/// </summary>
public sealed record AttackGoal(Tensor Labels, Tensor Classes, bool Targeted)
{
    /// <summary>
    /// Per image, the loss an attack climbs, from the model's scores (N x classes): the cross-entropy of the true class
    /// (untargeted: away from it), or minus the cross-entropy of the target (targeted: towards it).
    /// </summary>
    public Tensor Loss(Tensor scores)
    {
        var crossEntropy = nn.functional.cross_entropy(scores, Classes, reduction: nn.Reduction.None);
        return Targeted ? -crossEntropy : crossEntropy;
    }

    /// <summary>Per image, whether <paramref name="predictions"/> (class indices) reach the goal: the target, or any class but the true one.</summary>
    public Tensor ReachedBy(Tensor predictions) => Targeted ? predictions.eq(Classes) : predictions.ne(Labels);

    /// <summary>
    /// The goal of the images at <paramref name="indices"/> (int64) of the batch, in that order: of the images still
    /// under attack, or of copies of the batch (indices 0..N−1 repeated).
    /// </summary>
    public AttackGoal Select(Tensor indices) => new(Labels[indices], Classes[indices], Targeted);
}

/// <summary>
/// The pieces every attack of the kit is built from, public so that a new attack (one file in this folder, or one in a
/// notebook) is written the same way. An attack's <c>Run</c> reads:
/// <code>
/// var (original, goal) = AttackSteps.Prepare(model, pixels, labels, targets);   // checks, then images and goal on the device
/// var adversarial = ...;                                                          // steps: AttackDirection, Project, goal.Loss
/// return AttackSteps.Result(model, original, adversarial, goal);                  // the model's answers, success per image
/// </code>
/// Untargeted, each image should leave its true class; targeted (<see cref="Targets"/>, as attributions take them), each
/// image should become its target: one class for the batch, or one per image.
/// </summary>
public static class AttackSteps
{
    /// <summary>
    /// Checks images, labels and targets against the model before any work is done: pixels as the model takes them,
    /// one label per image (class indices; floating-point whole numbers are accepted, see <see cref="Targets.FromLabels"/>),
    /// and the targets' classes and count (one for the batch, or one per image); untargeted, the labels' classes.
    /// </summary>
    public static void Check(VisionModel model, Tensor pixels, Tensor labels, Targets? targets)
    {
        model.CheckInput(pixels);
        if (labels.dim() != 1 || labels.shape[0] != pixels.shape[0])
            throw new ArgumentException($"Expected one label per image ({pixels.shape[0]}); got labels of shape [{string.Join(", ", labels.shape)}].", nameof(labels));
        var truth = Targets.FromLabels(labels);
        (targets ?? truth).CheckClasses(model, pixels.shape[0]);
    }

    /// <summary>Checks a budget or step of an attack: a finite number ≥ 0, in pixel units of [0,1]. <paramref name="what"/> names it in the error.</summary>
    public static void CheckPixelAmount(double value, string name, string what)
    {
        if (!(value >= 0) || double.IsInfinity(value))
            throw new ArgumentOutOfRangeException(name, $"{what} must be a finite number ≥ 0 (a pixel change in [0,1]); got {value}.");
    }

    /// <summary>
    /// Checks the request (<see cref="Check"/>), then gives the images (detached) and the goal, both on the model's
    /// device, in the caller's dispose scope. <paramref name="targets"/> null: untargeted.
    /// </summary>
    public static (Tensor Images, AttackGoal Goal) Prepare(VisionModel model, Tensor pixels, Tensor labels, Targets? targets)
    {
        Check(model, pixels, labels, targets);
        var truth = labels.to(ScalarType.Int64).to(model.Device);
        var classes = targets is { } aim ? aim.ForBatch(pixels.shape[0], model.Device) : truth;
        return (pixels.detach().to(model.Device), new AttackGoal(truth, classes, targets is not null));
    }

    /// <summary>
    /// The sign of the gradient of <see cref="AttackGoal.Loss"/> at <paramref name="images"/>: the direction that helps
    /// the attack, for the whole batch in one forward and backward pass (<see cref="InputGradient"/>, which runs the
    /// model as at test time and gives every layer its mode back).
    /// </summary>
    public static Tensor AttackDirection(VisionModel model, Tensor images, AttackGoal goal)
    {
        using var gradient = InputGradient.Of(model, images, input => goal.Loss(model.Module.forward(input)));
        return gradient.sign();
    }

    /// <summary>
    /// Back into the L∞ ball of radius <paramref name="epsilon"/> around the original, then into [0,1] (the order keeps
    /// both constraints): every L∞ attack's projection, and adversarial training's. <paramref name="epsilon"/> is one
    /// radius, or one per image (N x 1 x 1 x 1).
    /// </summary>
    public static Tensor Project(Tensor images, Tensor original, Tensor epsilon) =>
        minimum(maximum(images, original - epsilon), original + epsilon).clamp(0, 1);

    /// <summary><see cref="Project(Tensor, Tensor, Tensor)"/> with one radius for every image.</summary>
    public static Tensor Project(Tensor images, Tensor original, double epsilon)
    {
        using var radius = tensor(epsilon, original.dtype, original.device);
        return Project(images, original, radius);
    }

    /// <summary>
    /// Packs the adversarial images with the model's own answers on them (all on the CPU, moved out of the caller's
    /// dispose scope): the last step of an attack's <c>Run</c>. Success is the model's answer on the adversarial images,
    /// judged by <see cref="AttackGoal.ReachedBy"/>.
    /// </summary>
    public static AttackResult Result(VisionModel model, Tensor original, Tensor adversarial, AttackGoal goal)
    {
        using var noGrad = no_grad();
        using var mode = model.EvaluationMode();   // the answers of the network at test time, as the gradients were taken
        var before = model.Module.forward(original).argmax(1);
        var (probability, prediction) = nn.functional.softmax(model.Module.forward(adversarial), 1).max(1);
        var success = goal.ReachedBy(prediction);
        return new AttackResult(adversarial.cpu().MoveToOuterDisposeScope(), (adversarial - original).cpu().MoveToOuterDisposeScope(),
            before.cpu().MoveToOuterDisposeScope(), prediction.cpu().MoveToOuterDisposeScope(),
            probability.cpu().MoveToOuterDisposeScope(), success.cpu().MoveToOuterDisposeScope());
    }
}
