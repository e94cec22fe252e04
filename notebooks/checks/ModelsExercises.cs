using WhatNetworksLearn.Data;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Models.Training;
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

    /// <summary>Exercise 2: the accuracy on the sample, computed by the student.</summary>
    public static ExerciseResult Accuracy(double? yours, VisionModel model, FashionMnist.LabeledImages sample) =>
        Exercise.Check("Accuracy on the sample", yours, FashionCnnTraining.Accuracy(model.Module, sample, model.Device),
            "The accuracy is a fraction between 0 and 1: the number of images whose top class equals their label, divided by the number of images.",
            tolerance: 1e-4);

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
