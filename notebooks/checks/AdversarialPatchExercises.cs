using WhatNetworksLearn.Adversarial;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Exercises;

/// <summary>
/// The checks of notebook 14-adversarial-patch's exercises. Each computes the expected answer with the kit's own patch
/// pasting (<see cref="PatchPasting"/>) and gradients on the notebook's model, patch and held-out images, so the
/// notebook never shows it.
/// </summary>
public static class AdversarialPatchExercises
{
    /// <summary>The held-out images the implementation exercises use: few, so they run in a blink.</summary>
    const int Images = 8;

    /// <summary>
    /// Exercise 1: pasting <paramref name="patch"/> unturned at scale 1 with its top-left pixel at (<paramref name="left"/>,
    /// <paramref name="top"/>) into the first 8 of <paramref name="images"/>, written by the student. The position is
    /// not on the diagonal, so swapping rows and columns shows.
    /// </summary>
    public static ExerciseResult Paste(Func<Tensor, Tensor, int, int, Tensor?> yours, Tensor patch, Tensor images, int left = 11, int top = 3)
    {
        using var scope = NewDisposeScope();
        var few = images.narrow(0, 0, Images).cpu();
        var flat = patch.cpu();
        int size = (int)flat.shape[^1];
        var expected = PatchPasting.Paste(few, flat, Enumerable.Repeat(PatchPlacement.AtTopLeft(left, top, size), Images).ToList());
        return Exercise.Implementation($"Pasting the patch at left {left}, top {top}", () => yours(few.clone(), flat.clone(), left, top), expected,
            "Dimension 2 of the images is the row (y, counted from the top), dimension 3 the column (x, from the left). " +
            "Work on a copy, so the images you were given stay as they are.", tolerance: 1e-6);
    }

    /// <summary>
    /// Exercise 2: the gradient one training step follows, written by the student: of the mean log-probability of
    /// <paramref name="target"/> over the first 8 of <paramref name="images"/>, each with the patch pasted at its own
    /// random placement (drawn by <paramref name="attack"/> with <paramref name="seed"/>), with respect to the patch's pixels.
    /// </summary>
    public static ExerciseResult Gradient(Func<Tensor, Tensor, IReadOnlyList<PatchPlacement>, int, Tensor?> yours, VisionModel model,
        AdversarialPatch attack, Tensor patch, Tensor images, int target, int seed = 5)
    {
        using var scope = NewDisposeScope();
        var few = images.narrow(0, 0, Images).to(model.Device);
        var placements = attack.RandomPlacements(Images, seed);
        var expected = InputGradient.Of(model, patch, p =>
            nn.functional.log_softmax(model.Module.forward(PatchPasting.Paste(few, p, placements)), 1)[.., target].mean()).cpu();
        return Exercise.Implementation("The gradient of one training step", () => yours(patch.clone(), few.clone(), placements, target)?.cpu(), expected,
            "Make a copy of the patch that autograd watches (detach, then requires_grad_(true)), paste it with PatchPasting.Paste, " +
            "take log_softmax of the scores over the classes, the target's column, and the MEAN over the images; then ask " +
            "autograd.grad for the gradient with respect to your copy.", tolerance: 1e-4);
    }

    /// <summary>The choices of exercise 3, by letter.</summary>
    static readonly string[] CornerChoices = ["a", "b", "c"];

    /// <summary>
    /// Exercise 3: the trained patch pasted unturned at scale 1 in the top-left corner of every held-out image, against
    /// the random placements of <paramref name="atRandom"/>, predicted before running: (a) the corner wins more often
    /// (by more than 5 points), (b) about as often, (c) less often (by more than 5 points).
    /// </summary>
    public static ExerciseResult Corner(string? prediction, VisionModel model, Tensor patch, Tensor images, Tensor labels, int target, PatchEvaluation atRandom)
    {
        const string title = "The patch in a fixed corner";
        if (Exercise.Unanswered(title, prediction, CornerChoices, out var unanswered))
            return unanswered;
        using var quiet = ProgressDisplay.Silence();   // a check shows its verdict and nothing else
        using var scope = NewDisposeScope();
        int size = (int)patch.shape[^1];
        var corner = Enumerable.Repeat(PatchPlacement.AtTopLeft(0, 0, size), (int)images.shape[0]).ToList();
        var counted = labels.cpu().to_type(ScalarType.Int64).ne(target);
        var predictions = model.Probabilities(PatchPasting.Paste(images, patch, corner)).argmax(1).cpu();
        double inCorner = predictions[counted].eq(target).to_type(ScalarType.Float64).mean().item<double>();
        double random = atRandom.SuccessRate;
        var outcome = inCorner > random + 0.05 ? "a" : inCorner < random - 0.05 ? "c" : "b";
        // How much garment each placement hides: the share of the covered pixels brighter than 0.1.
        double Hidden(IReadOnlyList<PatchPlacement> placements)
        {
            var mask = PatchPasting.Mask(images.shape[2], images.shape[3], size, placements);
            return (mask * images.cpu().gt(0.1f)).sum().item<float>() / mask.sum().item<float>();
        }
        double hiddenCorner = Hidden(corner), hiddenRandom = Hidden(atRandom.Placements);
        var why = (outcome, hiddenCorner < hiddenRandom) switch
        {
            ("c", true) => "A patch works partly by hiding the garment's own evidence; in the corner it hides less of it, and what stays in view outvotes it more often. ",
            ("b", true) => "In the corner it hides far less of the garment and works about as often: this patch works by what it adds, not by what it hides. ",
            _ => "",
        };
        return Exercise.Prediction(title, prediction, outcome,
            $"In the top-left corner the patch turns {inCorner:P0} of the non-sandal held-out images into sandals, at random places {random:P0}. " +
            $"Of the pixels it covers, {hiddenCorner:P0} are garment (brighter than 0.1) in the corner and {hiddenRandom:P0} at random places. " + why +
            "The patch was trained for the average over placements, sizes and angles; one fixed spot can do better or worse than that average, " +
            "depending on how much of the garment it hides and how much the network weighs that part of the image.");
    }
}
