using WhatNetworksLearn.Features;
using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Attribution;

/// <summary>
/// The gradient of one unit of a network with respect to the image, with every ReLU's backward pass following a
/// <see cref="ReluBackward"/> rule: plain backpropagation (what the unit is sensitive to), deconvnet, or guided
/// backpropagation (the sharpest picture of the pattern the unit responds to). A unit is a single neuron at
/// (channel, y, x) of a named layer, a whole channel (its values summed), or a class score. As an attribution
/// method it explains class scores: with <see cref="ReluBackward.Backprop"/>, <see cref="Attributions.PerPixel"/> of
/// its attributions is Simonyan et al.'s class saliency map (notebook 07); notebook 06 shows the three rules.
/// </summary>
public sealed class UnitGradient(VisionModel model, ReluBackward rule) : IAttribution
{
    public ReluBackward Rule { get; } = rule;

    public VisionModel Model => model;

    /// <summary>
    /// N x C x H x W: for each image of the batch, the gradient of the neuron at <paramref name="position"/> (row, column
    /// of the layer's feature map) of <paramref name="channel"/> in <paramref name="layer"/>; with no position, of the
    /// channel's sum over all positions.
    /// </summary>
    public Tensor Of(Tensor pixels, string layer, int channel, (int Y, int X)? position = null) =>
        Gradient(pixels, layer, activation =>
        {
            var map = ChannelMap(activation, layer, channel);
            if (position is not { } p)
                return map.sum();
            CheckPosition(map, layer, p);
            return map[.., p.Y, p.X].sum();
        });

    /// <summary>
    /// N x C x H x W: the gradient of one neuron per image, image n's neuron at <paramref name="positions"/>[n] of
    /// <paramref name="channel"/> in <paramref name="layer"/> (as <see cref="Patch.Y"/>, <see cref="Patch.X"/> of the
    /// regions <see cref="TopPatches"/> finds). Images do not interact in evaluation mode, so one backward pass serves all.
    /// </summary>
    public Tensor Of(Tensor pixels, string layer, int channel, IReadOnlyList<(int Y, int X)> positions)
    {
        if (positions.Count != pixels.shape[0])
            throw new ArgumentException($"Give one position per image: {pixels.shape[0]} images, {positions.Count} positions.", nameof(positions));
        return Gradient(pixels, layer, activation =>
        {
            var map = ChannelMap(activation, layer, channel);
            foreach (var p in positions)
                CheckPosition(map, layer, p);
            long width = map.shape[2];
            var flat = tensor(positions.Select(p => p.Y * width + p.X).ToArray(), device: map.device).unsqueeze(1);
            return map.flatten(1).gather(1, flat).sum();
        });
    }

    /// <summary>
    /// N x C x H x W: the gradient of the sum of all values of <paramref name="layer"/> for each image. For a feature
    /// trunk's last layer (non-negative features) that is the size of the whole description, a stand-in for a class
    /// score when the network has no classes.
    /// </summary>
    public Tensor OfLayer(Tensor pixels, string layer) => Gradient(pixels, layer, activation => activation.sum());

    /// <summary>N x C x H x W: the gradient of the total of the network's output for each image, what explains a feature trunk (notebook 17).</summary>
    public Tensor OfTotal(Tensor pixels) => Gradient(pixels, null, output => output.sum());

    /// <summary>
    /// N x C x H x W: the gradient of the unnormalised score (before the softmax, so that the other classes do not
    /// enter) of each image's target class, through the rule.
    /// </summary>
    public Tensor Attribute(Tensor pixels, Targets targets)
    {
        targets.CheckClasses(model, pixels.shape[0]);
        return Gradient(pixels, null, scores => targets.Pick(scores).sum());
    }

    /// <summary>
    /// What one unit responds to, as the lecture shows it: the image regions that excite <paramref name="channel"/> of
    /// <paramref name="layer"/> most (<see cref="TopPatches.Find(VisionModel, Tensor, string, int, int, double, int, int)"/>)
    /// and, for each, the rule's gradient of that neuron cut to the same receptive field (<see cref="Patterns"/>;
    /// <c>Plot.Gradient</c> draws them, <see cref="TopPatches.Crops(Tensor, IEnumerable{Patch})"/> the regions). With few images, allow several
    /// regions per image (<paramref name="perImage"/>); they are kept apart by non-maximum suppression. For photos at
    /// several scales, find the patches over <see cref="CandidateViews"/> and call <see cref="Patterns"/>.
    /// </summary>
    public (List<Patch> Patches, List<Tensor> Patterns) TopPatterns(Tensor images, string layer, int channel, int count = 8, int perImage = 1)
    {
        using var views = CandidateViews.Whole(images);
        var patches = TopPatches.Find(model, views, layer, channel, count, perImage: perImage);
        return (patches, Patterns(views, layer, channel, patches));
    }

    /// <summary>
    /// For each patch found by <see cref="TopPatches"/> over <paramref name="views"/>, the rule's gradient of its neuron
    /// (C x h x w, on the CPU): computed on the view in which the unit saw the region (one backward pass for all
    /// patches), cut to the region in that view.
    /// </summary>
    public List<Tensor> Patterns(CandidateViews views, string layer, int channel, IReadOnlyList<Patch> patches)
    {
        if (patches.Count == 0)
            return [];
        using var scope = NewDisposeScope();
        var chosen = views.Pixels.index_select(0, tensor(patches.Select(p => (long)p.View).ToArray(), device: views.Pixels.device));
        var gradients = Of(chosen, layer, channel, patches.Select(p => (p.Y, p.X)).ToList());
        return patches.Select((p, i) =>
        {
            var r = p.InView;
            return gradients[i, .., r.Top..(r.Top + r.Height), r.Left..(r.Left + r.Width)].clone().MoveToOuterDisposeScope();
        }).ToList();
    }

    /// <summary>
    /// Runs the batch with the rule applied to every ReLU, takes <paramref name="objective"/> of the output of
    /// <paramref name="layer"/> (the network's output when null) and returns its gradient with respect to the pixels.
    /// The true gradient is the ReLUs' own: then the network runs untouched, as plain autograd would run it.
    /// </summary>
    Tensor Gradient(Tensor pixels, string? layer, Func<Tensor, Tensor> objective)
    {
        model.CheckInput(pixels);
        var target = layer is null ? null : model.Layer(layer);   // an unknown name fails here with the valid ones
        using var scope = NewDisposeScope();
        using var rules = Rule.IsTrueGradient ? null : ReluRules.Apply(model, Rule);
        // A ReLU's output under a rule is the rule's (a capture hook might see the discarded original).
        bool ruledRelu = rules is not null && target is TorchSharp.Modules.ReLU;
        using var capture = target is null || ruledRelu ? null : new LayerCapture(model, [layer!], detach: false);
        var gradient = InputGradient.Of(model, pixels, input =>
        {
            var output = model.Module.forward(input);
            var watched = target is null ? output : capture?[layer!] ?? rules!.OutputOf(target!)
                ?? throw new InvalidOperationException($"Layer '{layer}' did not run in the forward pass of {model.Name}.");
            return objective(watched);
        });
        return gradient.cpu().MoveToOuterDisposeScope();
    }

    static Tensor ChannelMap(Tensor activation, string layer, int channel)
    {
        if (activation.dim() != 4)
            throw new ArgumentException($"Layer '{layer}' gives [{string.Join(", ", activation.shape)}], not feature maps N x C x H x W; pick a convolutional layer.", nameof(layer));
        if (channel < 0 || channel >= activation.shape[1])
            throw new ArgumentOutOfRangeException(nameof(channel), $"Layer '{layer}' has channels 0 to {activation.shape[1] - 1}; channel {channel} does not exist.");
        return activation[.., channel];
    }

    static void CheckPosition(Tensor map, string layer, (int Y, int X) p)
    {
        if (p.Y < 0 || p.Y >= map.shape[1] || p.X < 0 || p.X >= map.shape[2])
            throw new ArgumentOutOfRangeException(nameof(p), $"Position ({p.Y}, {p.X}) is outside layer '{layer}''s {map.shape[1]} x {map.shape[2]} feature map.");
    }
}
