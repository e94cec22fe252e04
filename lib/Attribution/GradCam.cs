using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Attribution;

/// <summary>
/// Grad-CAM (Selvaraju et al., 2017): where in the image a convolutional layer found the evidence for a class. The
/// layer's K feature maps A_k are weighed by how much the class score grows with each (α_k, the mean over positions
/// of the score's gradient with respect to A_k), summed, and only the positive part is kept:
/// ReLU(Σ_k α_k A_k), one value per position of the layer. The map is as coarse as the layer (7 x 7 for fashion-cnn's
/// relu3 and ResNet-18's layer4) but class-specific, because deep layers are. Works for any layer that gives feature
/// maps N x K x h x w, named as in <see cref="VisionModel.LayerNames"/>; for a network without classes (a feature
/// trunk), <see cref="MapOfTotal"/> explains the total of its output instead. Notebook 17.
/// The weighing of the channels is replaceable (<see cref="IChannelWeighting"/>): Grad-CAM++ is Grad-CAM with
/// <c>new GradCamPlusPlus()</c> as its weighting, and a variant of your own is one class.
/// </summary>
public sealed class GradCam(VisionModel model, string layer, IChannelWeighting? weighting = null) : IAttribution
{
    /// <summary>The layer whose feature maps are weighed.</summary>
    public string Layer { get; } = layer;

    /// <summary>How each feature map's weight is computed: Grad-CAM's mean gradient unless another is given.</summary>
    public IChannelWeighting Weighting { get; } = weighting ?? new MeanGradientWeighting();

    public VisionModel Model => model;

    /// <summary>
    /// N x h x w at the layer's resolution, non-negative: Grad-CAM of each image's target class score (the logit, before
    /// the softmax, as for saliency maps).
    /// </summary>
    public Tensor Map(Tensor pixels, Targets targets)
    {
        targets.CheckClasses(model, pixels.shape[0]);
        return Compute(pixels, scores => targets.Pick(scores));
    }

    /// <summary>
    /// N x h x w: Grad-CAM of the total of the network's output for each image. For a feature trunk (non-negative
    /// features, no classes) this is the size of its whole description of the image, as notebook 08 uses it; it says
    /// where the layer found what the trunk describes, not which class it is.
    /// </summary>
    public Tensor MapOfTotal(Tensor pixels) => Compute(pixels, output => output.flatten(1).sum(1));

    /// <summary>
    /// N x C x H x W on the CPU: <see cref="Map"/> enlarged to the image by <see cref="Enlarge"/>, the same value in every
    /// channel, so that <see cref="Attributions.PerPixel"/> with <see cref="ChannelReduction.Max"/> gives the enlarged map.
    /// </summary>
    public Tensor Attribute(Tensor pixels, Targets targets)
    {
        using var map = Map(pixels, targets);
        return Spread(map, pixels);
    }

    /// <summary>N x C x H x W: <see cref="MapOfTotal"/> enlarged to the image, as <see cref="Attribute"/> does.</summary>
    public Tensor AttributeTotal(Tensor pixels)
    {
        using var map = MapOfTotal(pixels);
        return Spread(map, pixels);
    }

    /// <summary>
    /// The rule itself, on feature maps and the gradients with respect to them (both N x K x h x w): α = the
    /// weighting's weight of each map (Grad-CAM's: the mean of its gradients over the h x w positions), map =
    /// ReLU(Σ_k α_k A_k), N x h x w.
    /// </summary>
    public static Tensor FromActivations(Tensor activations, Tensor gradients, IChannelWeighting? weighting = null)
    {
        if (activations.dim() != 4 || !activations.shape.SequenceEqual(gradients.shape))
            throw new ArgumentException($"Expected feature maps and their gradients of one shape N x K x h x w; got [{string.Join(", ", activations.shape)}] " +
                $"and [{string.Join(", ", gradients.shape)}].", nameof(gradients));
        using var scope = NewDisposeScope();
        var weights = (weighting ?? new MeanGradientWeighting()).Weigh(activations, gradients).reshape(activations.shape[0], activations.shape[1], 1, 1);
        return (weights * activations).sum(1).relu().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Maps N x h x w enlarged to <paramref name="height"/> x <paramref name="width"/> by bilinear interpolation
    /// (corners not aligned, as image resizing does): each of the layer's positions becomes a smooth blob over the pixels
    /// it summarises.
    /// </summary>
    public static Tensor Enlarge(Tensor maps, long height, long width)
    {
        if (maps.dim() != 3)
            throw new ArgumentException($"Expected maps N x h x w; got [{string.Join(", ", maps.shape)}].", nameof(maps));
        using var scope = NewDisposeScope();
        return nn.functional.interpolate(maps.unsqueeze(1), [height, width], mode: InterpolationMode.Bilinear, align_corners: false)
            .squeeze(1).MoveToOuterDisposeScope();
    }

    /// <summary>Runs the batch once, takes the layer's output and the gradient of the objective's values with respect to it, and applies the rule.</summary>
    Tensor Compute(Tensor pixels, Func<Tensor, Tensor> objective)
    {
        model.CheckInput(pixels);
        model.Layer(Layer);   // an unknown name fails here with the valid ones
        using var scope = NewDisposeScope();
        using var result = InputGradient.Take(model, pixels, input => objective(model.Module.forward(input)), [Layer]);
        var activations = result.LayerOutputs[Layer];
        if (activations.dim() != 4)
            throw new ArgumentException($"Layer '{Layer}' of {model.Name} gives [{string.Join(", ", activations.shape)}], not feature maps N x K x h x w: " +
                "Grad-CAM needs a convolutional layer (one with channels and positions), usually the last one before the classifier.", nameof(pixels));
        return FromActivations(activations, result.LayerGradients[Layer], Weighting).cpu().MoveToOuterDisposeScope();
    }

    static Tensor Spread(Tensor map, Tensor pixels)
    {
        using var scope = NewDisposeScope();
        var enlarged = Enlarge(map, pixels.shape[2], pixels.shape[3]).unsqueeze(1);
        return enlarged.expand(-1, pixels.shape[1], -1, -1).contiguous().MoveToOuterDisposeScope();
    }
}

/// <summary>
/// How a Grad-CAM variant weighs a layer's feature maps: from the maps A (N x K x h x w) and the gradients of the
/// class score with respect to them (same shape), one weight per map, N x K. <see cref="GradCam"/> does the rest
/// (the weighted sum, the ReLU, the enlargement), so a variant that differs only in its weights is one class.
/// </summary>
public interface IChannelWeighting
{
    Tensor Weigh(Tensor activations, Tensor gradients);
}

/// <summary>Grad-CAM's weighting (Selvaraju et al., 2017): each map's weight is the mean of its gradients over positions.</summary>
public sealed class MeanGradientWeighting : IChannelWeighting
{
    public Tensor Weigh(Tensor activations, Tensor gradients) => gradients.mean([2, 3]);
}

/// <summary>
/// Guided Grad-CAM (Selvaraju et al., 2017): guided backpropagation's fine pattern (<see cref="UnitGradient"/> with
/// <see cref="ReluBackward.Guided"/>), which is sharp but hardly depends on the class, multiplied pixel by pixel by
/// Grad-CAM's enlarged map, which depends on the class but is coarse. What is left is sharp and class-specific.
/// Notebook 17.
/// </summary>
public sealed class GuidedGradCam(VisionModel model, string layer) : IAttribution
{
    readonly UnitGradient guided = new(model, ReluBackward.Guided);

    /// <summary>The Grad-CAM whose map weighs the guided pattern.</summary>
    public GradCam GradCam { get; } = new(model, layer);

    public VisionModel Model => model;

    /// <summary>N x C x H x W on the CPU, signed: the guided gradient of each image's target class score times Grad-CAM's enlarged map.</summary>
    public Tensor Attribute(Tensor pixels, Targets targets)
    {
        using var scope = NewDisposeScope();
        var map = GradCam.Attribute(pixels, targets);
        return (guided.Attribute(pixels, targets) * map).MoveToOuterDisposeScope();
    }

    /// <summary>N x C x H x W: the same for the total of the network's output (a feature trunk), as <see cref="GradCam.MapOfTotal"/>.</summary>
    public Tensor AttributeTotal(Tensor pixels)
    {
        using var scope = NewDisposeScope();
        var map = GradCam.AttributeTotal(pixels);
        return (guided.OfTotal(pixels) * map).MoveToOuterDisposeScope();
    }
}
