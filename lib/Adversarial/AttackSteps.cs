using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Adversarial;

/// <summary>The pieces the attacks share: checking a request, the signed loss gradient, and packing the result.</summary>
static class AttackSteps
{
    /// <summary>
    /// Checks images, labels and target against the model before any work is done. Labels are class indices, one per
    /// image; labels stored as floating-point whole numbers are accepted (see <see cref="Targets.FromLabels"/>).
    /// </summary>
    public static void Check(VisionModel model, Tensor pixels, Tensor labels, int? targetClass)
    {
        model.CheckInput(pixels);
        if (labels.dim() != 1 || labels.shape[0] != pixels.shape[0])
            throw new ArgumentException($"Expected one label per image ({pixels.shape[0]}); got labels of shape [{string.Join(", ", labels.shape)}].", nameof(labels));
        var truth = Targets.FromLabels(labels);
        if (targetClass is int target)
            model.CheckClass(target);
        else
            truth.CheckClasses(model, pixels.shape[0]);
    }

    /// <summary>Checks a budget or step of an attack: a finite number ≥ 0, in pixel units of [0,1].</summary>
    public static void CheckPixelAmount(double value, string name, string what)
    {
        if (!(value >= 0) || double.IsInfinity(value))
            throw new ArgumentOutOfRangeException(name, $"{what} must be a finite number ≥ 0 (a pixel change in [0,1]); got {value}.");
    }

    /// <summary>
    /// Checks the request, then gives the images (detached) and their labels (int64) on the model's device.
    /// </summary>
    public static (Tensor Images, Tensor Labels) Prepare(VisionModel model, Tensor pixels, Tensor labels, int? targetClass)
    {
        Check(model, pixels, labels, targetClass);
        return (pixels.detach().to(model.Device), labels.to(ScalarType.Int64).to(model.Device));
    }

    /// <summary>
    /// The sign of the direction that helps the attack, for the whole batch in one forward and backward pass
    /// (<see cref="InputGradient"/>): up the loss of the true labels (untargeted) or down the loss of the target (targeted).
    /// </summary>
    public static Tensor AttackDirection(VisionModel model, Tensor images, Tensor labels, int? targetClass)
    {
        using var scope = NewDisposeScope();
        var goal = Goal(images, labels, targetClass);
        var gradient = InputGradient.Of(model, images,
            input => nn.functional.cross_entropy(model.Module.forward(input), goal, reduction: nn.Reduction.Sum));
        return SignTowardsGoal(gradient, targetClass).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Back into the L∞ ball of radius <paramref name="epsilon"/> around the original, then into [0,1] (the order keeps
    /// both constraints). Every L∞ attack's projection, and adversarial training's.
    /// </summary>
    public static Tensor Project(Tensor images, Tensor original, double epsilon) =>
        minimum(maximum(images, original - epsilon), original + epsilon).clamp(0, 1);

    /// <summary><see cref="Project(Tensor, Tensor, double)"/> with a radius per image (broadcast against the images).</summary>
    public static Tensor Project(Tensor images, Tensor original, Tensor epsilon) =>
        minimum(maximum(images, original - epsilon), original + epsilon).clamp(0, 1);

    /// <summary>The classes the loss is taken against: each image's true label, or the target for every image.</summary>
    public static Tensor Goal(Tensor images, Tensor labels, int? targetClass) =>
        targetClass is int target ? full(images.shape[0], target, ScalarType.Int64, device: images.device) : labels;

    /// <summary>The step from a loss gradient: its sign up the loss of the true labels, or down the loss of the target.</summary>
    public static Tensor SignTowardsGoal(Tensor gradient, int? targetClass) => targetClass is null ? gradient.sign() : -gradient.sign();

    /// <summary>
    /// Packs the adversarial images with the model's own answers on them (all on the CPU), moved out of the caller's
    /// dispose scope; called as the last step of an attack's <c>Run</c>.
    /// </summary>
    public static AttackResult Result(VisionModel model, Tensor original, Tensor adversarial, Tensor labels, int? targetClass)
    {
        using var noGrad = no_grad();
        using var mode = model.EvaluationMode();   // the answers of the network at test time, as the gradients were taken
        var before = model.Module.forward(original).argmax(1);
        var (probability, prediction) = nn.functional.softmax(model.Module.forward(adversarial), 1).max(1);
        var success = targetClass is int target ? prediction.eq(target) : prediction.ne(labels);
        return new AttackResult(adversarial.cpu().MoveToOuterDisposeScope(), (adversarial - original).cpu().MoveToOuterDisposeScope(),
            before.cpu().MoveToOuterDisposeScope(), prediction.cpu().MoveToOuterDisposeScope(),
            probability.cpu().MoveToOuterDisposeScope(), success.cpu().MoveToOuterDisposeScope());
    }
}
