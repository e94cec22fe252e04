using static TorchSharp.torch;

namespace WhatNetworksLearn.Models;

/// <summary>
/// Records the outputs of named layers while the model runs, through forward hooks that are removed on dispose.
/// </summary>
public sealed class LayerCapture : IDisposable
{
    readonly List<nn.HookableModule<Func<nn.Module<Tensor, Tensor>, Tensor, Tensor>, Func<nn.Module<Tensor, Tensor>, Tensor, Tensor, Tensor>>.HookRemover> removers = [];
    readonly Dictionary<string, Tensor> outputs = [];

    /// <param name="model">The model whose layers to watch.</param>
    /// <param name="layerNames">Layers by name (see <see cref="VisionModel.LayerNames"/>).</param>
    /// <param name="detach">True to keep values only; false to keep them in the autograd graph, on the path to the network's output (for gradients of or with respect to a layer).</param>
    public LayerCapture(VisionModel model, IEnumerable<string> layerNames, bool detach)
    {
        foreach (var name in layerNames.Distinct())
        {
            if (model.Layer(name) is not nn.Module<Tensor, Tensor> layer)
                throw new ArgumentException($"Layer '{name}' of {model.Name} is not a single-tensor layer and cannot be watched.", nameof(layerNames));
            removers.Add(layer.register_forward_hook((_, _, output) =>
            {
                if (outputs.Remove(name, out var previous))
                    previous.Dispose();
                var kept = detach ? output.detach() : output.alias();
                outputs[name] = kept.DetachFromDisposeScope();
                // In the graph, the network goes on from (an alias of) the kept tensor, so that a gradient taken with
                // respect to it (InputGradient's layers) is the gradient with respect to the layer's output. The alias
                // is a handle of its own because a Sequential disposes each layer's output once the next has run.
                return detach ? output : kept.alias();
            }));
        }
    }

    /// <summary>The recorded output of one layer (still owned by the capture).</summary>
    public Tensor this[string name] => outputs.TryGetValue(name, out var t)
        ? t
        : throw new InvalidOperationException($"Layer '{name}' has not run yet: call the model's forward pass first.");

    /// <summary>Hands every recorded output to the caller, who then owns and disposes them.</summary>
    public Dictionary<string, Tensor> TakeAll()
    {
        var all = new Dictionary<string, Tensor>(outputs);
        outputs.Clear();
        return all;
    }

    public void Dispose()
    {
        foreach (var remover in removers)
            remover.remove();
        foreach (var t in outputs.Values)
            t.Dispose();
        outputs.Clear();
    }
}
