using WhatNetworksLearn.Data;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Exercises;

/// <summary>
/// The checks of notebook 00-models' exercises. Each computes the expected answer from the notebook's own model and
/// data, so the notebook never shows it.
/// </summary>
public static class ModelsExercises
{
    /// <summary>Exercise 1: softmax written by the student, on the scores of the first 64 sample images.</summary>
    public static ExerciseResult Probabilities(Func<Tensor, Tensor?> yours, VisionModel model, FashionMnist.LabeledImages sample)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var scores = model.Forward(sample.Images.narrow(0, 0, 64));
        var expected = nn.functional.softmax(scores, 1);
        return Exercise.Implementation("Probabilities from scores", () => yours(scores.clone()), expected,
            "Each row (one image) must sum to 1: exponentiate, then divide by the sum over the classes of that row (dimension 1, keepdim: true).",
            tolerance: 1e-5);
    }

    /// <summary>
    /// Exercise 2: top-k accuracy written by the student, <c>yours(scores, labels, k)</c>: the fraction of the images
    /// whose label is among the k classes with the highest scores. First on two images worked out by hand, then on the
    /// scores of the whole sample for k = 1, 2 and 5. The kit counts, for each image, the classes that score higher
    /// than its label: the label is in the top k when fewer than k do.
    /// </summary>
    public static ExerciseResult TopKAccuracy(Func<Tensor, Tensor, int, double> yours, VisionModel model, FashionMnist.LabeledImages sample)
    {
        using var scope = NewDisposeScope();
        // By hand: image 0 ranks its classes 0, 2, 1 and image 1 ranks them 1, 2, 0; both are labelled 2, which each
        // ranks second. Top-1: neither; top-2: both; top-3: both.
        var handScores = tensor(new float[] { 3, 1, 2, 0, 5, 1 }).reshape(2, 3);
        var handLabels = tensor(new long[] { 2, 2 });
        (Tensor Scores, Tensor Labels, int K)[] cases = [(handScores, handLabels, 1), (handScores, handLabels, 2), (handScores, handLabels, 3)];
        var expected = new List<double> { 0, 1, 1 };
        Tensor scores;
        using (no_grad())
            scores = model.Forward(sample.Images).cpu();
        var labels = sample.Labels.cpu().to_type(ScalarType.Int64);
        var higher = scores.gt(scores.gather(1, labels.unsqueeze(1))).sum(1);   // per image, the classes scoring above its label
        foreach (var k in new[] { 1, 2, 5 })
        {
            cases = [.. cases, (scores, labels, k)];
            expected.Add(higher.lt(k).to_type(ScalarType.Float64).mean().item<double>());
        }
        return Exercise.Implementation("Top-k accuracy", () => tensor(cases.Select(c => yours(c.Scores.clone(), c.Labels.clone(), c.K)).ToArray()),
            tensor(expected.ToArray()),
            "The answer is a fraction between 0 and 1, and an image counts once, however many of its top k classes there are. " +
            "Try two images and three classes by hand: with k equal to the number of classes, every image counts.", tolerance: 1e-6);
    }

    /// <summary>The choices of exercise 3, by letter.</summary>
    static readonly (string Letter, string Class)[] HardestChoices = [("a", "T-shirt/top"), ("b", "Trouser"), ("c", "Shirt"), ("d", "Bag")];

    /// <summary>Exercise 3: which of four classes the network gets wrong most often on the sample, predicted before counting.</summary>
    public static ExerciseResult HardestClass(string? prediction, VisionModel model, FashionMnist.LabeledImages sample)
    {
        const string title = "The class fashion-cnn gets wrong most often";
        if (Exercise.Unanswered(title, prediction, out var unanswered))
            return unanswered;
        using var quiet = ProgressDisplay.Silence();   // a check shows its verdict and nothing else
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var labels = sample.Labels.to(model.Device);
        var wrong = model.Forward(sample.Images).argmax(1).ne(labels);
        var errors = HardestChoices.Select(choice =>
        {
            var ofClass = labels.eq(FashionMnist.ClassNames.ToList().IndexOf(choice.Class));
            return (choice.Letter, choice.Class, Wrong: wrong.logical_and(ofClass).sum().item<long>(), Total: ofClass.sum().item<long>());
        }).ToList();
        var hardest = errors.MaxBy(e => (double)e.Wrong / e.Total);
        var counts = string.Join(", ", errors.Select(e => $"{e.Class} {e.Wrong} of {e.Total}"));
        return Exercise.Prediction(title, prediction, hardest.Letter,
            $"Mistakes on the sample: {counts}. A shirt differs from a T-shirt, a pullover or a coat in small details (buttons, collar, " +
            "sleeve length) that 28 x 28 grey pixels barely show, while trousers and bags have shapes no other class has.");
    }
}
