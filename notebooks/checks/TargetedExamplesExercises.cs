using WhatNetworksLearn.Adversarial;
using WhatNetworksLearn.Data;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Exercises;

/// <summary>
/// The checks of notebook 11-targeted-examples' exercises. Each computes the expected answer with the kit's own FGSM and
/// PGD on the notebook's model and sample, so the notebook never shows it.
/// </summary>
public static class TargetedExamplesExercises
{
    /// <summary>The images the implementation exercises attack: the first of the sample, few enough to run in a blink.</summary>
    const int Images = 16;

    /// <summary>
    /// The gradient of the cross-entropy loss of each image's true label, with respect to its pixels: what the student's
    /// attack climbs. The same objective as the kit's untargeted attacks.
    /// </summary>
    static Func<Tensor, Tensor> LossGradient(VisionModel model, Tensor labels) => images =>
        InputGradient.Of(model, images, input => nn.functional.cross_entropy(model.Module.forward(input), labels, reduction: nn.Reduction.Sum)).cpu();

    static (Tensor Images, Tensor Labels) Few(FashionMnist.LabeledImages sample) =>
        (sample.Images.narrow(0, 0, Images).cpu(), sample.Labels.narrow(0, 0, Images).to(ScalarType.Int64).cpu());

    /// <summary>Exercise 1: one untargeted FGSM step of size <paramref name="epsilon"/>, written by the student.</summary>
    public static ExerciseResult FgsmStep(Func<Func<Tensor, Tensor>, Tensor, double, Tensor?> yours, VisionModel model,
        FashionMnist.LabeledImages sample, double epsilon = 0.1)
    {
        using var scope = NewDisposeScope();
        var (images, labels) = Few(sample);
        using var kit = new Fgsm(model, new FgsmOptions(epsilon)).Run(images, labels);
        var gradient = LossGradient(model, labels.to(model.Device));
        return Exercise.Implementation($"One FGSM step (eps {epsilon})", () => yours(gradient, images.clone(), epsilon), kit.Adversarial,
            "Every pixel moves by ε in the direction of the sign of the loss gradient (up the loss of the true class), " +
            "and the result must still be an image: nothing below 0 or above 1.", tolerance: 1e-5);
    }

    /// <summary>
    /// Exercise 2: untargeted PGD from the image itself (no random start), <paramref name="steps"/> steps of
    /// <paramref name="stepSize"/> with the projection onto the ε-ball and [0,1] after each, written by the student.
    /// The steps add up to more than ε, so a missing projection shows.
    /// </summary>
    public static ExerciseResult PgdSteps(Func<Func<Tensor, Tensor>, Tensor, double, double, int, Tensor?> yours, VisionModel model,
        FashionMnist.LabeledImages sample, double epsilon = 0.05, double stepSize = 0.02, int steps = 5)
    {
        using var scope = NewDisposeScope();
        var (images, labels) = Few(sample);
        using var kit = new Pgd(model, new PgdOptions(epsilon, stepSize, steps, RandomStart: false)).Run(images, labels);
        var gradient = LossGradient(model, labels.to(model.Device));
        return Exercise.Implementation($"PGD with projection ({steps} steps of {stepSize}, eps {epsilon})",
            () => yours(gradient, images.clone(), epsilon, stepSize, steps), kit.Adversarial,
            "After every step, take the gradient again at the new point, and pull each pixel back to within ε of the ORIGINAL " +
            "image (not of the previous step), then into [0, 1]. The steps together add up to more than ε.", tolerance: 1e-4);
    }

    /// <summary>The choices of exercise 3, by letter.</summary>
    static readonly string[] NoiseChoices = ["a", "b", "c"];

    /// <summary>
    /// Exercise 3: how often random ±ε signs fool the network compared with FGSM's signs of the same size, predicted
    /// before running: (a) about as often (within a quarter), (b) far less often, (c) more often.
    /// </summary>
    public static ExerciseResult RandomSigns(string? prediction, VisionModel model, FashionMnist.LabeledImages sample, double epsilon = 0.1, int seed = 0)
    {
        const string title = "Random signs against FGSM's signs";
        if (Exercise.Unanswered(title, prediction, NoiseChoices, out var unanswered))
            return unanswered;
        using var quiet = ProgressDisplay.Silence();   // a check shows its verdict and nothing else
        using var scope = NewDisposeScope();
        var images = sample.Images.cpu();
        var labels = sample.Labels.to(ScalarType.Int64).cpu();
        using var fgsm = new Fgsm(model, new FgsmOptions(epsilon)).Run(images, labels);
        using var generator = new Generator((ulong)seed);
        var signs = randint(0, 2, images.shape, generator: generator).to_type(images.dtype) * 2 - 1;
        var noisy = (images + epsilon * signs).clamp(0, 1);
        double Error(Tensor x)
        {
            using var noGrad = no_grad();
            return model.Forward(x).argmax(1).cpu().ne(labels).to_type(ScalarType.Float64).mean().item<double>();
        }
        double clean = Error(images), random = Error(noisy), gradient = fgsm.SuccessRate;
        var outcome = random > 1.25 * gradient ? "c" : random >= 0.75 * gradient ? "a" : "b";
        double movedRandom = (noisy - images).abs().mean().item<float>(), movedFgsm = fgsm.Perturbation.abs().mean().item<float>();
        return Exercise.Prediction(title, prediction, outcome,
            $"On the {images.shape[0]} sample images the network is wrong on {clean:P0} of the clean ones, on {random:P0} after random ±{epsilon} signs " +
            $"and on {gradient:P0} after FGSM's signs, although both changes are about as large (mean pixel change {movedRandom:F3} and {movedFgsm:F3}). " +
            "To first order the loss changes by the sum over the pixels of each pixel's change times its gradient: FGSM makes every term it can " +
            "move positive, so they add up; random signs agree with the gradient on about half of the pixels and disagree on the rest, so the " +
            "terms largely cancel. Noise is not harmless (the network was trained on clean garments), but the chosen direction does far more " +
            "than the size of the change.");
    }
}
