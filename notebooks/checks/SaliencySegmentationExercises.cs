using WhatNetworksLearn.Attribution;
using WhatNetworksLearn.Data;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using WhatNetworksLearn.Rendering;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Exercises;

/// <summary>
/// The checks of notebook 08-saliency-segmentation's exercises. Each computes the expected answer with the kit's own
/// <see cref="SaliencySegmentation"/> on the notebook's model and images, so the notebook never shows it.
/// </summary>
public static class SaliencySegmentationExercises
{
    /// <summary>
    /// Exercise 1: the box around the most salient pixels, written by the student, on the plain saliency maps (28 x 28)
    /// of the images of <paramref name="images"/> at <paramref name="indices"/>, for their predicted classes, with the
    /// fractions 0.4 (the notebook's) and 0.1.
    /// </summary>
    public static ExerciseResult SalientBox(Func<Tensor, double, Box?> yours, VisionModel model, Tensor images, int[] indices)
    {
        using var scope = NewDisposeScope();
        var maps = indices.Select(i =>
        {
            var picture = images[i];
            return SaliencySegmentation.Prepare(model, picture, model.Predict(picture.unsqueeze(0))[0].Class).Saliency;
        }).ToList();
        double[] fractions = [0.4, 0.1];
        var cases = fractions.SelectMany(f => maps.Select(m => (Map: m, Fraction: f))).ToList();
        var expected = Stack(cases.Select(c => SaliencySegmentation.SalientBox(c.Map, c.Fraction)));
        return Exercise.Implementation("The box around the most salient pixels", () =>
            {
                var boxes = cases.Select(c => yours(c.Map.clone(), c.Fraction)).ToList();
                return boxes.Any(b => b is null) ? null : Stack(boxes!);
            }, expected,
            "The box must hold exactly the round(fraction × H × W) largest values of the map, and no side may lie on the outermost " +
            "ring of pixels. A Box is (left, top, width, height), and a box from column 3 to column 5 is 3 pixels wide.", tolerance: 1e-6);
    }

    /// <summary>The choices of exercise 2, by letter.</summary>
    static readonly string[] ClassChoices = ["a", "b", "c"];

    /// <summary>
    /// Exercise 2: how the cut from the saliency's box changes when the saliency is that of each image's least likely
    /// class instead of its predicted class, predicted before running: (a) clearly worse (the mean IoU with the garments
    /// falls by more than 0.1); (b) about the same (within 0.1); (c) clearly better. On the images at
    /// <paramref name="indices"/>, with <paramref name="boxStart"/>, at the notebook's working size of 112.
    /// </summary>
    public static ExerciseResult LeastLikelyClass(string? prediction, VisionModel model, Tensor images, int[] indices, SegmentationOptions boxStart)
    {
        const string title = "The box of the least likely class";
        if (Exercise.Unanswered(title, prediction, ClassChoices, out var unanswered))
            return unanswered;
        using var quiet = ProgressDisplay.Silence();   // a check shows its verdict and nothing else
        var own = new List<float>();
        var least = new List<float>();
        var overlap = new List<float>();
        foreach (var i in indices)
        {
            using var scope = NewDisposeScope();
            var picture = images[i];
            Tensor scores;
            using (no_grad())
                scores = model.Forward(picture.unsqueeze(0))[0];
            var cuts = new[] { scores.argmax(), scores.argmin() }.Select(c =>
            {
                var (enlarged, map) = SaliencySegmentation.Prepare(model, picture, (int)c.item<long>(), workingSize: 112);
                var cut = SaliencySegmentation.Run(enlarged, map, boxStart);
                return (Cut: cut, Garment: FashionMnist.GarmentMask(enlarged[0]));
            }).ToList();
            own.Add(cuts[0].Cut.IntersectionOverUnion(cuts[0].Garment));
            least.Add(cuts[1].Cut.IntersectionOverUnion(cuts[1].Garment));
            overlap.Add(SaliencySegmentation.IntersectionOverUnion(BoxMask(cuts[0].Cut), BoxMask(cuts[1].Cut)));
            foreach (var (cut, _) in cuts)
                cut.Dispose();
        }
        double change = least.Average() - own.Average();
        var outcome = change < -0.1 ? "a" : change > 0.1 ? "c" : "b";
        return Exercise.Prediction(title, prediction, outcome,
            $"On these {indices.Length} images the mean IoU with the garments is {own.Average():F2} from the predicted class's box and " +
            $"{least.Average():F2} from the least likely class's, and the two boxes overlap with a mean IoU of {overlap.Average():F2}. " +
            "A box start uses only where the salient region ends: everything outside the box is sure background, and inside it GrabCut " +
            "separates the bright garment from the black background by colour. So the class can matter only through the box, and the " +
            "overlap of the two boxes says how much the saliency of this network depends on the class it explains.");
    }

    /// <summary>
    /// Exercise 3: the intersection over union written by the student, on pairs of masks from the notebook's cuts of the
    /// first garment (<paramref name="seedMask"/>, <paramref name="boxMask"/>, the garment's own <paramref name="truth"/>),
    /// a soft map (values above 0.5 count as inside) and two empty masks.
    /// </summary>
    public static ExerciseResult IoU(Func<Tensor, Tensor, double> yours, Tensor seedMask, Tensor boxMask, Tensor truth)
    {
        using var scope = NewDisposeScope();
        var soft = truth * 0.6 + seedMask * 0.3;   // above 0.5 only on the garment: a soft mask must be thresholded
        var empty = zeros_like(truth);
        var pairs = new[] { (seedMask, truth), (boxMask, truth), (seedMask, boxMask), (soft, seedMask), (empty, empty) };
        var expected = tensor(pairs.Select(p => (double)SaliencySegmentation.IntersectionOverUnion(p.Item1, p.Item2)).ToArray());
        return Exercise.Implementation("Intersection over union", () => tensor(pairs.Select(p => yours(p.Item1.clone(), p.Item2.clone())).ToArray()), expected,
            "Count the pixels inside both masks and the pixels inside either (a pixel is inside where its value is above 0.5), and divide " +
            "the first count by the second; two empty masks agree perfectly.", tolerance: 1e-5);
    }

    /// <summary>The box a cut started from, as a mask of its pixels.</summary>
    static Tensor BoxMask(SegmentationResult cut)
    {
        var box = cut.Box!;
        var mask = zeros_like(cut.Mask);
        mask[(int)box.Top..(int)(box.Top + box.Height), (int)box.Left..(int)(box.Left + box.Width)] = 1;
        return mask;
    }

    static Tensor Stack(IEnumerable<Box> boxes) => tensor(boxes.SelectMany(b => new[] { b.Left, b.Top, b.Width, b.Height }).ToArray()).reshape(-1, 4);
}
