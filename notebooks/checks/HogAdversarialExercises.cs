using WhatNetworksLearn.Classical;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Exercises;

/// <summary>
/// The checks of notebook 16-hog-adversarial's exercises. Each computes the expected answer with the kit's own HOG
/// (<see cref="Hog"/>) and the notebook's two classifiers, so the notebook never shows it.
/// </summary>
public static class HogAdversarialExercises
{
    /// <summary>The cell of the first of <paramref name="images"/> with the most edge strength: (row, column) in cells.</summary>
    static (int Row, int Column) StrongestCell(Hog hog, Tensor images)
    {
        using var scope = NewDisposeScope();
        var cells = hog.CellHistograms(images.narrow(0, 0, 1).cpu())[0].sum(2);   // cellsY x cellsX
        int across = (int)cells.shape[1], best = (int)cells.flatten().argmax().item<long>();
        return (best / across, best % across);
    }

    /// <summary>
    /// Exercise 1: one cell's histogram written by the student, from the gradient magnitudes and orientations of its
    /// pixels, for the strongest cell of the first of <paramref name="images"/>.
    /// </summary>
    public static ExerciseResult CellHistogram(Func<Tensor, Tensor, int, Tensor?> yours, Hog hog, Tensor images)
    {
        using var scope = NewDisposeScope();
        var image = images.narrow(0, 0, 1).cpu();
        var (row, column) = StrongestCell(hog, image);
        int size = hog.Options.CellSize;
        var (magnitude, orientation) = Hog.Gradients(image);
        Tensor Cell(Tensor t) => t[0].narrow(0, row * size, size).narrow(1, column * size, size);
        var expected = hog.CellHistograms(image)[0, row, column];
        return Exercise.Implementation($"The histogram of cell ({row}, {column})", () => yours(Cell(magnitude).clone(), Cell(orientation).clone(), hog.Options.Bins), expected,
            $"Measure each orientation in bins: bin k is centred on (k + ½) · 180° / {hog.Options.Bins}, so subtract ½ after converting. " +
            "A pixel's magnitude goes to the two bins whose centres are nearest, the nearer one getting more, and the bins wrap around " +
            "(the last bin's upper neighbour is bin 0).", tolerance: 1e-5);
    }

    /// <summary>
    /// Exercise 2: L2-Hys normalisation of one block written by the student; the block is the 2 x 2 cells from the strongest
    /// cell of the first of <paramref name="images"/> (moved inwards at the image's edge), their histograms one after another.
    /// </summary>
    public static ExerciseResult L2Hys(Func<Tensor, double, double, Tensor?> yours, Hog hog, Tensor images)
    {
        using var scope = NewDisposeScope();
        var image = images.narrow(0, 0, 1).cpu();
        var cells = hog.CellHistograms(image)[0];
        int span = hog.Options.BlockCells;
        var (row, column) = StrongestCell(hog, image);
        row = (int)Math.Min(row, cells.shape[0] - span);
        column = (int)Math.Min(column, cells.shape[1] - span);
        var block = cells.narrow(0, row, span).narrow(1, column, span).flatten();
        var expected = new Hog(hog.Options with { Norm = BlockNorm.L2Hys }).Normalize(block.unsqueeze(0)).squeeze(0);
        return Exercise.Implementation("L2-Hys normalisation of one block", () => yours(block.clone(), hog.Options.Epsilon, hog.Options.ClipThreshold), expected,
            "Three steps, in this order: divide the block by its L2 length plus epsilon; clip every value at clip; divide by the new " +
            "L2 length plus 0.001. Skipping the last step leaves a block whose length is no longer about 1.", tolerance: 1e-5);
    }

    /// <summary>The choices of exercise 3, by letter.</summary>
    static readonly string[] ContrastChoices = ["a", "b", "c"];

    /// <summary>
    /// Exercise 3: how many answers of the HOG classifier survive halving the contrast of <paramref name="images"/>
    /// (every pixel times 0.5), predicted before running: (a) at least 95 %, (b) between half and 95 %, (c) fewer than half.
    /// The explanation compares the CNN's answers under the same change.
    /// </summary>
    public static ExerciseResult Contrast(string? prediction, HogClassifier hogClassifier, VisionModel cnn, Tensor images)
    {
        const string title = "Halving the contrast";
        if (Exercise.Unanswered(title, prediction, ContrastChoices, out var unanswered))
            return unanswered;
        using var quiet = ProgressDisplay.Silence();   // a check shows its verdict and nothing else
        var hogModel = hogClassifier.Model;
        using var scope = NewDisposeScope();
        var dim = images.cpu() * 0.5f;
        double Kept(VisionModel model) =>
            model.Probabilities(images).argmax(1).cpu().eq(model.Probabilities(dim).argmax(1).cpu()).to_type(ScalarType.Float64).mean().item<double>();
        double hogKept = Kept(hogModel), cnnKept = Kept(cnn);
        var outcome = hogKept >= 0.95 ? "a" : hogKept >= 0.5 ? "b" : "c";
        using var noGrad = no_grad();
        var descriptor = hogClassifier.Hog.forward(images.to(hogModel.Device));
        double change = (hogClassifier.Hog.forward(dim.to(hogModel.Device)) - descriptor).abs().mean().item<float>() / descriptor.abs().mean().item<float>();
        return Exercise.Prediction(title, prediction, outcome,
            $"The HOG classifier keeps its answer on {hogKept:P1} of the {images.shape[0]} images, fashion-cnn on {cnnKept:P1}. " +
            "Halving every pixel halves every gradient, so every cell histogram is exactly half as tall; each block is then divided " +
            $"by its own length, which undoes the halving except for the small epsilon added to that length. The descriptor moves by " +
            $"{change:P1} of its mean value, what the epsilon leaves of the halving. Nothing in the CNN divides the brightness out: " +
            "its first layer gets half the input, and whatever it learned about how bright garments are goes into its answer.");
    }
}
