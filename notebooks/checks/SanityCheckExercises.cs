using WhatNetworksLearn.Attribution;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Exercises;

/// <summary>
/// The checks of notebook 18-sanity-checks' exercises. Each computes the expected answer with the kit's own cascading
/// randomisation and attribution methods on the notebook's model and images, so the notebook never shows it.
/// </summary>
public static class SanityCheckExercises
{
    /// <summary>The layers the notebook randomises, from the top.</summary>
    static readonly string[] Stages = ["fc2", "fc1", "conv3", "conv2", "conv1"];

    /// <summary>
    /// Exercise 1: the cascade written by the student, for the saliency map of the first <paramref name="count"/> of
    /// <paramref name="images"/> and their predicted classes: (stages + 1) x N rank correlations with the trained
    /// model's maps, as <see cref="CascadingRandomization.Run"/> computes them with seed 0. Also says so when the
    /// student's code left the model with random weights (and puts the trained ones back).
    /// </summary>
    public static ExerciseResult Cascade(Func<VisionModel, IAttribution, Tensor, Targets, string[], Tensor?> yours, VisionModel model, Tensor images, int count = 8)
    {
        const string title = "The cascade: randomise from the top, compare with the trained map";
        using var scope = NewDisposeScope();
        var some = images.narrow(0, 0, Math.Min(count, images.shape[0])).cpu();
        var classes = Targets.PerImage(model.Predict(some).Select(p => p.Class).ToArray());
        var saliency = new UnitGradient(model, ReluBackward.Backprop);
        using var kit = CascadingRandomization.Run(model, [("saliency", saliency)], some, classes, Stages, seed: 0);
        var expected = kit.Correlations[0];
        var trained = model.Module.parameters().Select(p => (Parameter: p, Value: p.detach().clone())).ToList();
        bool leftRandom = false;
        Tensor? Run()
        {
            try
            {
                return yours(model, saliency, some.clone(), classes, Stages.ToArray());
            }
            finally
            {
                using (no_grad())
                    foreach (var (parameter, value) in trained)
                        if (!parameter.detach().allclose(value, rtol: 0, atol: 0))
                        {
                            leftRandom = true;
                            parameter.copy_(value);
                        }
            }
        }
        var result = Exercise.Implementation(title, Run, expected,
            "Stage 0 is the trained model; at stage s the first s layers of the list are random at once (not only the s-th), " +
            "made so by RandomizedLayers.Apply(model, layers, seed: 0) inside a using block. At every stage, reduce the method's " +
            "attributions with Attributions.PerPixel and correlate them with the trained ones (Attributions.RankCorrelation); stack " +
            "the stages as rows.", tolerance: 1e-4);
        return leftRandom
            ? new(title, ExerciseStatus.NotYet, "not yet: after your code ran, some layers of the model still had random weights (the check has put " +
                  "the trained ones back). RandomizedLayers.Apply gives them back only when it is disposed: write using (RandomizedLayers.Apply(…)) { … }, " +
                  "so that the trained weights return even if something in between fails.")
            : result;
    }

    /// <summary>
    /// Exercise 2: how alike the guided-backpropagation maps of each image's most likely and least likely class are,
    /// predicted before running: (a) rank correlation above 0.8, (b) between 0.4 and 0.8, (c) below 0.4, averaged over
    /// <paramref name="images"/>.
    /// </summary>
    public static ExerciseResult ClassSensitivity(string? prediction, VisionModel model, Tensor images)
    {
        const string title = "Does guided backpropagation depend on the class?";
        if (Exercise.Unanswered(title, prediction, ["a", "b", "c"], out var unanswered))
            return unanswered;
        using var quiet = ProgressDisplay.Silence();   // a check shows its verdict and nothing else
        using var scope = NewDisposeScope();
        var ranked = model.Probabilities(images).argsort(1, descending: true).cpu();
        var first = Targets.FromLabels(ranked[.., 0]);
        var last = Targets.FromLabels(ranked[.., ranked.shape[1] - 1]);
        double Agreement(ReluBackward rule)
        {
            var method = new UnitGradient(model, rule);
            return Attributions.RankCorrelation(Attributions.PerPixel(method.Attribute(images, first)), Attributions.PerPixel(method.Attribute(images, last)))
                .mean().item<float>();
        }
        double guided = Agreement(ReluBackward.Guided), saliency = Agreement(ReluBackward.Backprop);
        var outcome = guided > 0.8 ? "a" : guided >= 0.4 ? "b" : "c";
        return Exercise.Prediction(title, prediction, outcome,
            $"Over these {images.shape[0]} images, the guided-backpropagation maps of the most and the least likely class have a mean rank " +
            $"correlation of {guided:F2}; the saliency maps of the same two classes {saliency:F2}. The two backward passes start from different " +
            "rows of fc2's weights, and that is the only place where the class enters. Guided backpropagation then lets a gradient through a " +
            "ReLU only where the unit was on in the forward pass and the gradient is positive; the on-off pattern is the image's, the same for " +
            "every class, so the more of the signal these gates decide, the less the class shows in the map.");
    }

    /// <summary>
    /// Exercise 3: which change to the network alters the guided-backpropagation map more, randomising only fc2 or
    /// only conv1 (every other layer trained), predicted before running: (a) only fc2, (b) only conv1, (c) about the
    /// same (mean rank correlations within 0.05 of each other), over <paramref name="images"/> and their predicted classes.
    /// </summary>
    public static ExerciseResult OneLayer(string? prediction, VisionModel model, Tensor images)
    {
        const string title = "Randomise one layer: the top or the bottom?";
        if (Exercise.Unanswered(title, prediction, ["a", "b", "c"], out var unanswered))
            return unanswered;
        using var quiet = ProgressDisplay.Silence();   // a check shows its verdict and nothing else
        using var scope = NewDisposeScope();
        var classes = Targets.PerImage(model.Predict(images).Select(p => p.Class).ToArray());
        var guided = new UnitGradient(model, ReluBackward.Guided);
        var saliency = new UnitGradient(model, ReluBackward.Backprop);
        Tensor Maps(IAttribution method) => Attributions.PerPixel(method.Attribute(images, classes));
        var trainedGuided = Maps(guided);
        var trainedSaliency = Maps(saliency);
        (double Guided, double Saliency) OnlyRandom(string layer)
        {
            using var random = RandomizedLayers.Apply(model, [layer], seed: 0);
            return (Attributions.RankCorrelation(Maps(guided), trainedGuided).mean().item<float>(),
                Attributions.RankCorrelation(Maps(saliency), trainedSaliency).mean().item<float>());
        }
        var top = OnlyRandom("fc2");
        var bottom = OnlyRandom("conv1");
        var outcome = Math.Abs(top.Guided - bottom.Guided) <= 0.05 ? "c" : top.Guided < bottom.Guided ? "a" : "b";
        return Exercise.Prediction(title, prediction, outcome,
            $"With only fc2 random, the guided-backpropagation maps keep a mean rank correlation of {top.Guided:F2} with the trained ones; with " +
            $"only conv1 random, {bottom.Guided:F2} (saliency: {top.Saliency:F2} and {bottom.Saliency:F2}). fc2 only chooses the weights the " +
            "backward pass starts from; conv1's filters are what every signal passes through on its way in and out, and they decide which " +
            "units above are on, so they shape the map of every class. A map that a random first layer changes but a random class layer " +
            "does not is a map of what the early layers see in the image, not of why the network chose the class.");
    }
}
