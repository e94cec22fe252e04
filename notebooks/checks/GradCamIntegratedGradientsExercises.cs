using WhatNetworksLearn.Attribution;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Exercises;

/// <summary>
/// The checks of notebook 17-grad-cam-and-integrated-gradients' exercises. Each computes the expected answer with the
/// kit's own Grad-CAM and Integrated Gradients on the notebook's model and images, so the notebook never shows it.
/// </summary>
public static class GradCamIntegratedGradientsExercises
{
    /// <summary>
    /// Exercise 1: the Grad-CAM rule written by the student, given the feature maps of <paramref name="layer"/> for
    /// <paramref name="images"/> and the gradients of each image's predicted class score with respect to them.
    /// </summary>
    public static ExerciseResult Rule(Func<Tensor, Tensor, Tensor?> yours, VisionModel model, Tensor images, string layer = "relu3")
    {
        using var scope = NewDisposeScope();
        var classes = Targets.PerImage(model.Predict(images).Select(p => p.Class).ToArray());
        using var taken = InputGradient.Take(model, images, input => classes.Pick(model.Module.forward(input)), [layer]);
        var activations = taken.LayerOutputs[layer].cpu();
        var gradients = taken.LayerGradients[layer].cpu();
        var expected = GradCam.FromActivations(activations, gradients);
        return Exercise.Implementation("The Grad-CAM map from feature maps and gradients", () => yours(activations.clone(), gradients.clone()), expected,
            "One weight per image and channel: the mean of that channel's gradients over the positions (dimensions 2 and 3). " +
            "Then weigh each channel's feature map by it, sum over the channels (dimension 1) and keep only the positive part.", tolerance: 1e-5);
    }

    /// <summary>
    /// Exercise 2: Integrated Gradients' Riemann sum written by the student, for the first of <paramref name="images"/>,
    /// its predicted class, the blurred baseline and <paramref name="steps"/> steps; the student's code gets a function
    /// that returns the class score's gradient at a batch of path points.
    /// </summary>
    public static ExerciseResult RiemannSum(Func<Func<Tensor, Tensor>, Tensor, Tensor, int, Tensor?> yours, VisionModel model, Tensor images, int steps = 32)
    {
        using var scope = NewDisposeScope();
        var image = images.narrow(0, 0, 1).cpu();
        int target = model.Predict(image)[0].Class;
        var method = new IntegratedGradients(model, new IntegratedGradientsOptions(steps, IntegrationBaseline.Blurred));
        var baseline = method.Baselines(image);
        var expected = method.Attribute(image, target);
        var saliency = new UnitGradient(model, ReluBackward.Backprop);
        Tensor GradientAt(Tensor points) => saliency.Attribute(points, target);
        return Exercise.Implementation("Integrated Gradients as a Riemann sum", () => yours(GradientAt, image.clone(), baseline.clone(), steps), expected,
            "The path runs from the baseline (α = 0) to the image (α = 1), and its points are the midpoints of steps equal slices, " +
            "neither end included; each point's gradient counts equally. Your result has the shape of one image.", tolerance: 1e-4);
    }

    /// <summary>The choices of exercise 3, by letter.</summary>
    static readonly string[] BlackPixelChoices = ["a", "b", "c", "d"];

    /// <summary>
    /// Exercise 3: what Integrated Gradients with the black baseline gives the pixels of <paramref name="images"/> that are
    /// exactly black, predicted before running: (a) large attributions, (b) exactly 0, (c) small negative values, (d) it
    /// depends on the class.
    /// </summary>
    public static ExerciseResult BlackPixels(string? prediction, VisionModel model, Tensor images)
    {
        const string title = "What the black baseline gives black pixels";
        if (Exercise.Unanswered(title, prediction, BlackPixelChoices, out var unanswered))
            return unanswered;
        using var quiet = ProgressDisplay.Silence();   // a check shows its verdict and nothing else
        using var scope = NewDisposeScope();
        var classes = Targets.PerImage(model.Predict(images).Select(p => p.Class).ToArray());
        var black = images.cpu().eq(0);
        long blackCount = black.sum().item<long>();
        var fromBlack = new IntegratedGradients(model, new IntegratedGradientsOptions(32)).Attribute(images, classes);
        var fromBlur = new IntegratedGradients(model, new IntegratedGradientsOptions(32, IntegrationBaseline.Blurred)).Attribute(images, classes);
        long zeroFromBlack = fromBlack.masked_select(black).eq(0).sum().item<long>();
        long zeroFromBlur = fromBlur.masked_select(black).eq(0).sum().item<long>();
        var outcome = zeroFromBlack == blackCount ? "b" : "d";
        return Exercise.Prediction(title, prediction, outcome,
            $"{(double)blackCount / images.numel():P0} of the pixels of these {images.shape[0]} images are exactly black, and {zeroFromBlack:N0} of those " +
            $"{blackCount:N0} get an attribution of exactly 0 from the black baseline. Every attribution is (x − x′) times an average gradient, and " +
            $"x − x′ is 0 wherever the image equals the baseline, however much the network cares about that pixel. With the blurred baseline, " +
            $"{zeroFromBlur:N0} of them get 0: the blur brings some grey into the background, so x − x′ is no longer 0 there. The baseline decides " +
            "what counts as 'nothing', and IG can never credit a pixel that already looks like nothing.");
    }
}
