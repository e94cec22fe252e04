using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Synthesis;

/// <summary>What an objective can read after one forward pass.</summary>
public sealed class ObjectiveContext
{
    readonly LayerCapture layers;

    internal ObjectiveContext(Tensor image, Tensor scores, LayerCapture layers)
    {
        Image = image;
        Scores = scores;
        this.layers = layers;
    }

    /// <summary>The images being optimised (N x C x H x W, before the transforms): what a penalty on the image itself looks at.</summary>
    public Tensor Image { get; }

    /// <summary>The model's output for the transformed images: class scores (logits), or features for a trunk.</summary>
    public Tensor Scores { get; }

    /// <summary>The output of a layer the objective asked for (see <see cref="Objective.Layers"/>), still in the autograd graph.</summary>
    public Tensor Layer(string name) => layers[name];
}

/// <summary>
/// A value to maximise, one number per image, computed from the model's forward pass: a class score, the energy of a
/// layer, the mean of one channel, or a penalty on the image. Objectives add, subtract and scale like numbers
/// (<c>Objective.ClassScore(3) - 0.01 * Objective.L2()</c>), so a new recipe is a new sum, not a new loop.
/// </summary>
public sealed class Objective
{
    readonly Func<ObjectiveContext, Tensor> value;
    readonly Action<VisionModel>? check;

    /// <summary>
    /// An objective of your own: <paramref name="value"/> computes one number per image from what a forward pass gives
    /// (<see cref="ObjectiveContext"/>: the images, the model's output, the outputs of <paramref name="layers"/>), in the
    /// autograd graph. <paramref name="check"/>, if given, refuses a model that lacks what the objective needs before any
    /// work, e.g. <c>model => model.CheckClass(3)</c>; the layers are checked by name in any case.
    /// </summary>
    public Objective(string description, Func<ObjectiveContext, Tensor> value, IEnumerable<string>? layers = null, Action<VisionModel>? check = null)
    {
        Description = description;
        Layers = (layers ?? []).Distinct().ToList();
        this.value = value;
        this.check = check;
    }

    /// <summary>What the objective computes, in words (e.g. "score of class 3 - 0.01 x L2 of the image").</summary>
    public string Description { get; }

    /// <summary>The layers whose outputs the objective reads; the loop watches them during the forward pass.</summary>
    public IReadOnlyList<string> Layers { get; }

    /// <summary>
    /// The unnormalised score (logit) of one class for every image, or of one class per image when
    /// <paramref name="classes"/> has as many entries as the batch has images. Unnormalised, as Simonyan et al. advise:
    /// raising a softmax probability can also be done by lowering the other classes.
    /// </summary>
    public static Objective ClassScore(params int[] classes)
    {
        var targets = PerImage(classes, "class");
        return new($"score of class {targets}", c => targets.Pick(c.Scores), check: model => targets.CheckClasses(model));
    }

    /// <summary>
    /// The log-probability (log-softmax) of one class for every image, or of one class per image: raising it lowers the
    /// cross-entropy of that class, what the adversarial patch is trained for (notebook 14).
    /// </summary>
    public static Objective ClassLogProbability(params int[] classes)
    {
        var targets = PerImage(classes, "class");
        return new($"log-probability of class {targets}", c => targets.Pick(nn.functional.log_softmax(c.Scores, 1)),
            check: model => targets.CheckClasses(model));
    }

    /// <summary>
    /// The mean of one channel of a layer's feature maps (N x C x H x W) for every image, or of one channel per image.
    /// A pre-ReLU layer is the better choice: after a ReLU a channel that is silent everywhere has no gradient.
    /// </summary>
    public static Objective Channel(string layer, params int[] channels)
    {
        var targets = PerImage(channels, "channel");
        return new($"mean of {layer} channel {targets}", c => targets.Pick(FeatureMaps(c, layer).mean([2, 3]), "channel", $"layer '{layer}'"), [layer]);
    }

    /// <summary>
    /// The mean of the squared outputs of a layer: large when the layer responds strongly to whatever it sees.
    /// Its gradient with respect to the layer is proportional to the activations themselves, which is DeepDream's rule
    /// "set the gradient equal to the activation".
    /// </summary>
    public static Objective MeanSquare(string layer) =>
        new($"mean square of {layer}", c => c.Layer(layer).square().flatten(1).mean([1]), [layer]);

    /// <summary>
    /// The squared Euclidean norm of the image, measured from <paramref name="center"/> (0: black, 0.5: mid-grey):
    /// the λ‖I‖² of Simonyan et al. Subtract it to keep pixels near the centre unless the score needs them.
    /// </summary>
    public static Objective L2(double center = 0) =>
        new($"L2 of the image{(center == 0 ? "" : $" around {center}")}", c => (c.Image - center).square().flatten(1).sum([1]));

    /// <summary>The objective's value for each image of the forward pass described by <paramref name="context"/> (a vector of N).</summary>
    public Tensor Evaluate(ObjectiveContext context) => value(context);

    /// <summary>Checks that the model has every class and layer the objective names; the error says which is missing.</summary>
    public void Check(VisionModel model)
    {
        foreach (var layer in Layers)
            model.Layer(layer);   // an unknown name fails with the valid ones
        check?.Invoke(model);
    }

    public static Objective operator +(Objective a, Objective b) =>
        new($"{a.Description} + {b.Description}", c => a.value(c) + b.value(c), a.Layers.Concat(b.Layers), m => { a.Check(m); b.Check(m); });

    public static Objective operator -(Objective a, Objective b) =>
        new($"{a.Description} - {b.Description}", c => a.value(c) - b.value(c), a.Layers.Concat(b.Layers), m => { a.Check(m); b.Check(m); });

    public static Objective operator -(Objective a) => new($"-({a.Description})", c => -a.value(c), a.Layers, a.Check);

    public static Objective operator *(double weight, Objective a) =>
        new($"{weight:G4} x {a.Description}", c => weight * a.value(c), a.Layers, a.Check);

    public static Objective operator *(Objective a, double weight) => weight * a;

    public override string ToString() => Description;

    /// <summary>One index for every image, or one per image.</summary>
    static Targets PerImage(int[] picks, string what)
    {
        if (picks.Length == 0)
            throw new ArgumentException($"Name at least one {what}.", nameof(picks));
        return picks.Length == 1 ? picks[0] : Targets.PerImage(picks);
    }

    static Tensor FeatureMaps(ObjectiveContext context, string layer)
    {
        var output = context.Layer(layer);
        if (output.dim() != 4)
            throw new ArgumentException($"Layer '{layer}' outputs [{string.Join(", ", output.shape)}], not feature maps N x C x H x W; pick a convolution, batch-norm, ReLU or pooling layer.", nameof(layer));
        return output;
    }
}
