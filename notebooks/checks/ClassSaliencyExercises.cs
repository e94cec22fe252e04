using WhatNetworksLearn.Attribution;
using WhatNetworksLearn.Data;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Exercises;

/// <summary>
/// The checks of notebook 07-class-saliency's exercises. Each computes the expected answer with the kit's own class
/// saliency (<see cref="UnitGradient"/> with <see cref="ReluBackward.Backprop"/>, then <see cref="Attributions.PerPixel"/>)
/// on the notebook's model and images, so the notebook never shows it.
/// </summary>
public static class ClassSaliencyExercises
{
    /// <summary>
    /// Exercise 1: Simonyan et al.'s class saliency map written by the student, for <paramref name="images"/> and each
    /// image's predicted class (given to the student's code as an N-long int64 tensor).
    /// </summary>
    public static ExerciseResult Map(Func<Tensor, Tensor, Tensor?> yours, VisionModel model, Tensor images)
    {
        using var scope = NewDisposeScope();
        var classes = Predicted(model, images);
        var expected = Attributions.PerPixel(new UnitGradient(model, ReluBackward.Backprop).Attribute(images, Targets.PerImage(classes)));
        return Exercise.Implementation("The class saliency map", () => yours(images.clone(), tensor(classes.Select(c => (long)c).ToArray())), expected,
            "Differentiate the unnormalised score of each image's class (the network's output, before any softmax) with respect to the " +
            "pixels, take the absolute value, and keep the largest value over the colour channels (dimension 1).", tolerance: 1e-5);
    }

    /// <summary>The choices of exercise 2, by letter.</summary>
    static readonly string[] BackgroundChoices = ["a", "b", "c"];

    /// <summary>
    /// Exercise 2: what the class saliency map gives the exactly black pixels of <paramref name="images"/>, predicted
    /// before running: (a) exactly 0; (b) a non-zero value on almost all of them; (c) non-zero only near the garment
    /// (within 2 pixels of it), 0 further away.
    /// </summary>
    public static ExerciseResult BlackBackground(string? prediction, VisionModel model, Tensor images)
    {
        const string title = "The saliency of black pixels";
        if (Exercise.Unanswered(title, prediction, BackgroundChoices, out var unanswered))
            return unanswered;
        using var quiet = ProgressDisplay.Silence();   // a check shows its verdict and nothing else
        using var scope = NewDisposeScope();
        var pixels = images.cpu();
        var maps = Attributions.PerPixel(new UnitGradient(model, ReluBackward.Backprop).Attribute(pixels, Targets.PerImage(Predicted(model, pixels))));
        var black = pixels[.., 0].eq(0);
        var near = nn.functional.max_pool2d(FashionMnist.GarmentMask(pixels[.., 0]).unsqueeze(1), 5, 1, 2).squeeze(1).gt(0);
        var far = black.logical_and(near.logical_not());
        double Share(Tensor where) => maps.masked_select(where).ne(0).to_type(ScalarType.Float64).mean().item<double>();
        double onBlack = Share(black), onFar = far.any().item<bool>() ? Share(far) : 1;
        var outcome = onBlack < 0.05 ? "a" : onFar < 0.5 ? "c" : "b";
        return Exercise.Prediction(title, prediction, outcome,
            $"{black.to_type(ScalarType.Float64).mean().item<double>():P0} of the pixels of these {pixels.shape[0]} images are exactly black, and " +
            $"{onBlack:P1} of those have a non-zero saliency; of the black pixels more than 2 pixels away from the garment, {onFar:P1}. " +
            "A pixel's gradient does not depend on the pixel being 0: the first convolution is linear in the pixels, so a black pixel's " +
            "gradient is conv1's weights times the gradient arriving at conv1's output, and that is 0 only where every path up to the " +
            "class score runs through a ReLU that was off. The gradient asks what brightening the pixel would do, not what the pixel holds now.");
    }

    /// <summary>
    /// Exercise 3: the saliency of the margin between each image's predicted class and its runner-up (the second most
    /// likely class), written by the student: |∇(s_first − s_second)|, largest over the channels.
    /// </summary>
    public static ExerciseResult Margin(Func<Tensor, Tensor, Tensor, Tensor?> yours, VisionModel model, Tensor images)
    {
        using var scope = NewDisposeScope();
        Tensor ranked;
        using (no_grad())
            ranked = model.Forward(images).topk(2, 1).indexes.cpu();
        var first = ranked[.., 0].data<long>().Select(c => (int)c).ToArray();
        var second = ranked[.., 1].data<long>().Select(c => (int)c).ToArray();
        var saliency = new UnitGradient(model, ReluBackward.Backprop);
        var expected = Attributions.PerPixel(saliency.Attribute(images, Targets.PerImage(first)) - saliency.Attribute(images, Targets.PerImage(second)));
        return Exercise.Implementation("The saliency of the margin over the runner-up", () => yours(images.clone(), ranked[.., 0].clone(), ranked[.., 1].clone()), expected,
            "The margin is one number per image, the first class's score minus the second's: differentiate that difference, then take " +
            "its magnitude as in exercise 1. The gradient of a difference is the difference of the gradients, not of their magnitudes.",
            tolerance: 1e-5);
    }

    static int[] Predicted(VisionModel model, Tensor images) => model.Predict(images).Select(p => p.Class).ToArray();
}
