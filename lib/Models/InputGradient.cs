using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Models;

/// <summary>
/// What one gradient computation gave, all on the model's device and detached: the objective's values, their
/// gradient with respect to the input, and for every layer asked for, its output and the gradient with respect to it.
/// </summary>
/// <param name="Values">What the objective returned (one value per image, or one number), before summing.</param>
/// <param name="Gradient">The gradient of the summed values with respect to the input, shaped like the input.</param>
/// <param name="LayerOutputs">The output of each requested layer in the forward pass the objective ran.</param>
/// <param name="LayerGradients">The gradient of the summed values with respect to each requested layer's output.</param>
public sealed record GradientResult(Tensor Values, Tensor Gradient, IReadOnlyDictionary<string, Tensor> LayerOutputs,
    IReadOnlyDictionary<string, Tensor> LayerGradients) : IDisposable
{
    public void Dispose()
    {
        Values.Dispose();
        Gradient.Dispose();
        foreach (var t in LayerOutputs.Values.Concat(LayerGradients.Values))
            t.Dispose();
    }
}

/// <summary>
/// The kit's one way to take the gradient of an objective with respect to a model's input: every gradient technique
/// (saliency, guided backpropagation, the attacks, the synthesis loop and what is built on it) goes through here.
/// It computes gradients also inside a <c>no_grad</c> block, runs the model in evaluation mode and gives every layer
/// back the mode it had (also after an error), asks autograd for the input (and any requested layers) only, so the
/// model's weights never accumulate gradients, and turns every autograd failure into a .NET exception: "the objective
/// does not depend on the input" says so in plain words instead of ending the process in native code.
/// </summary>
public static class InputGradient
{
    /// <summary>
    /// The gradient of <paramref name="objective"/> with respect to <paramref name="input"/>, shaped like the input, on
    /// the model's device. The objective receives a copy of the input on the model's device that autograd watches and
    /// returns one value per image (their sum is differentiated: images do not interact in evaluation mode, so each
    /// image's gradient is that of its own value) or a single number.
    /// </summary>
    public static Tensor Of(VisionModel model, Tensor input, Func<Tensor, Tensor> objective)
    {
        using var result = Take(model, input, objective);
        return result.Gradient.alias();
    }

    /// <summary>
    /// Runs <paramref name="objective"/> as <see cref="Of"/> does and returns its values, the gradient with respect to
    /// the input and, for every layer in <paramref name="layers"/> (names of <see cref="VisionModel.LayerNames"/>), the
    /// layer's output in that forward pass and the gradient with respect to it (what Grad-CAM weighs feature maps by).
    /// </summary>
    public static GradientResult Take(VisionModel model, Tensor input, Func<Tensor, Tensor> objective, IReadOnlyList<string>? layers = null)
    {
        layers ??= [];
        using var scope = NewDisposeScope();
        using var gradients = enable_grad();   // also when called inside a no_grad block
        using var mode = model.EvaluationMode();
        using var capture = layers.Count == 0 ? null : new LayerCapture(model, layers, detach: false);
        var leaf = input.detach().to(model.Device).requires_grad_(true);
        var values = objective(leaf);
        if (!values.is_floating_point())
            throw new InvalidOperationException($"The objective must give floating-point values to differentiate; it gave {values.dtype}.");
        if (!values.requires_grad)
            throw NotDependent("the input");
        var outputs = layers.Distinct().ToDictionary(name => name, name => capture![name]);
        try
        {
            autograd.backward([values.sum()], inputs: [leaf, .. outputs.Values]);
        }
        catch (ExternalException error)
        {
            throw new InvalidOperationException($"Autograd could not take the gradient of the objective: {error.Message.Split('\n')[0]}", error);
        }
        var gradient = leaf.grad ?? throw NotDependent("the input");
        var layerGradients = outputs.ToDictionary(o => o.Key, o => (o.Value.grad ?? throw NotDependent($"layer '{o.Key}'")).MoveToOuterDisposeScope());
        return new GradientResult(values.detach().MoveToOuterDisposeScope(), gradient.MoveToOuterDisposeScope(),
            outputs.ToDictionary(o => o.Key, o => o.Value.detach().MoveToOuterDisposeScope()), layerGradients);
    }

    static InvalidOperationException NotDependent(string what) => new(
        $"The objective does not depend on {what}, so it has no gradient there. Compute it from the tensor the objective " +
        "receives (through the model), not from the original images or from values taken out of autograd (detach, item, no_grad).");
}
