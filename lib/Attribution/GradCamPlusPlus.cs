using static TorchSharp.torch;

namespace WhatNetworksLearn.Attribution;

/// <summary>
/// Grad-CAM++ (Chattopadhyay et al., 2018) as a weighting of <see cref="GradCam"/>: <c>new GradCam(model, layer, new
/// GradCamPlusPlus())</c>. Grad-CAM weighs map k by its mean gradient, so a map that fires strongly in a small region
/// counts little against a map that fires weakly everywhere, and when an image holds several objects of the class the
/// biggest one takes the map. Grad-CAM++ weighs only the positive gradients and gives each position its own share
/// α_k^ij, so that every place that raises the score counts in full:
/// w_k = Σ_ij α_k^ij ReLU(g_k^ij), with α_k^ij = g² / (2 g² + Σ_ab A_k^ab g³), g = g_k^ij the gradient of the class
/// score at position ij of map k. (The paper's α uses second and third derivatives of exp(score); for a network
/// that is piecewise linear up to the score they are the powers of the first, which gives this closed form.) Where
/// the denominator is 0 (no gradient) α is 0.
/// </summary>
public sealed class GradCamPlusPlus : IChannelWeighting
{
    public Tensor Weigh(Tensor activations, Tensor gradients)
    {
        using var scope = NewDisposeScope();
        var squared = gradients.square();
        var cubed = squared * gradients;
        var denominator = 2 * squared + activations.sum([2, 3], keepdim: true) * cubed;
        var alpha = where(denominator != 0, squared / where(denominator != 0, denominator, ones_like(denominator)), zeros_like(denominator));
        return (alpha * gradients.relu()).sum([2, 3]).MoveToOuterDisposeScope();
    }
}
