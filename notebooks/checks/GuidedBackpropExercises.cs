using WhatNetworksLearn.Attribution;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Exercises;

/// <summary>
/// The checks of notebook 06-guided-backprop's exercises. Each computes the expected answer with the kit's own ReLU
/// rules (<see cref="ReluRules"/>, <see cref="UnitGradient"/>) on the same inputs, so the notebook never shows it.
/// </summary>
public static class GuidedBackpropExercises
{
    /// <summary>
    /// Exercise 1: the guided rule written by the student as a backward function: given a ReLU's forward input h and
    /// the gradient arriving from above (both 4 x 5 x 5, drawn with a fixed seed), what passes back to h.
    /// </summary>
    public static ExerciseResult GuidedRule(Func<Tensor, Tensor, Tensor?> yours)
    {
        using var scope = NewDisposeScope();
        using var random = new Generator(6);
        var h = randn([4, 5, 5], generator: random);
        var arriving = randn([4, 5, 5], generator: random);
        var expected = PassedBack(h, arriving);
        return Exercise.Implementation("The guided ReLU rule as a backward function", () => yours(h.clone(), arriving.clone()), expected,
            "Two conditions must both hold for a gradient to pass: the ReLU was active in the forward pass (look at h), and the " +
            "arriving gradient is positive. Everywhere else the ReLU passes back 0.", tolerance: 1e-6);
    }

    /// <summary>
    /// Exercise 2: guided backpropagation of one unit through a small network written out by hand: the unit is
    /// y = w3 · relu(w2 · relu(w1 · x)) (no biases), and the student returns the guided gradient of y with respect to x.
    /// The weights and x are drawn with a fixed seed; the kit's answer runs autograd through <see cref="ReluRules.Relu"/>.
    /// </summary>
    public static ExerciseResult GuidedChain(Func<Tensor, Tensor, Tensor, Tensor, Tensor?> yours)
    {
        using var scope = NewDisposeScope();
        using var random = new Generator(16);
        var x = randn([1, 6], generator: random);
        var w1 = randn([8, 6], generator: random);
        var w2 = randn([8, 8], generator: random);
        var w3 = randn([1, 8], generator: random);
        var leaf = x.clone().requires_grad_(true);
        var first = ReluRules.Relu(leaf.matmul(w1.t()), ReluBackward.Guided);
        var second = ReluRules.Relu(first.matmul(w2.t()), ReluBackward.Guided);
        second.matmul(w3.t()).sum().backward();
        var expected = leaf.grad!.clone();
        return Exercise.Implementation("Guided backpropagation of one unit, by hand", () => yours(x.clone(), w1.clone(), w2.clone(), w3.clone()), expected,
            "Run the forward pass and keep both ReLU inputs. Then go backwards from the unit: the gradient at the second ReLU's output " +
            "is w3; apply the guided rule with that ReLU's input, multiply by w2 to reach the first ReLU's output, apply the rule " +
            "again with the first ReLU's input, and multiply by w1 to reach x. Check every shape on the way (1 x 8, then 1 x 6).", tolerance: 1e-5);
    }

    /// <summary>
    /// Exercise 3: whether guided backpropagation, which passes only positive gradients through every ReLU, can give a
    /// pixel a negative value, predicted before running: (a) no, every pixel gets 0 or more; (b) yes, some pixels get
    /// negative values. The run counts it on the guided maps of <paramref name="channel"/> of <paramref name="layer"/>
    /// at <paramref name="positions"/> (one per image).
    /// </summary>
    public static ExerciseResult Signs(string? prediction, VisionModel model, Tensor images, IReadOnlyList<(int Y, int X)> positions,
        string layer = "relu3", int channel = 17)
    {
        const string title = "Can a guided map be negative?";
        if (Exercise.Unanswered(title, prediction, ["a", "b"], out var unanswered))
            return unanswered;
        using var quiet = ProgressDisplay.Silence();   // a check shows its verdict and nothing else
        using var scope = NewDisposeScope();
        var guided = new UnitGradient(model, ReluBackward.Guided).Of(images, layer, channel, positions);
        long nonZero = guided.ne(0).sum().item<long>();
        long negative = guided.lt(0).sum().item<long>();
        var firstWeights = model.Module.named_parameters().First(p => p.name.EndsWith("conv1.weight")).parameter;
        double negativeWeights = firstWeights.lt(0).to_type(ScalarType.Float64).mean().item<double>();
        return Exercise.Prediction(title, prediction, negative > 0 ? "b" : "a",
            $"The {images.shape[0]} guided maps have {nonZero:N0} non-zero pixels, and {negative:N0} of them ({(double)negative / Math.Max(1, nonZero):P0}) are negative. " +
            "The rule makes the gradient non-negative at every ReLU, but below the first ReLU lie conv1 and its batch normalisation, " +
            $"linear steps that multiply by weights of both signs ({negativeWeights:P0} of conv1's weights are negative). " +
            "So the gradient that arrives at the pixels can have either sign: grey in the pictures is 0, darker is negative.");
    }

    /// <summary>What the guided rule passes back to h for the arriving gradient, by autograd through the kit's rule.</summary>
    static Tensor PassedBack(Tensor h, Tensor arriving)
    {
        var leaf = h.clone().requires_grad_(true);
        ReluRules.Relu(leaf, ReluBackward.Guided).backward([arriving]);
        return leaf.grad!.clone();
    }
}
