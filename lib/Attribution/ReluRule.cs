using WhatNetworksLearn.Models;
using static TorchSharp.torch;
using ReluModule = TorchSharp.Modules.ReLU;
using TensorHooks = TorchSharp.torch.nn.HookableModule<
    System.Func<TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>, TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>,
    System.Func<TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>, TorchSharp.torch.Tensor, TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>>;

namespace WhatNetworksLearn.Attribution;

/// <summary>
/// What a ReLU lets through on the way back. The forward pass is always max(0, h); only the backward pass differs,
/// which is all that separates three classic pictures of what a unit responds to: <see cref="Backprop"/>,
/// <see cref="Deconvnet"/> and <see cref="Guided"/>. A rule of your own is one class: derive from this one, give it a
/// name, and say in <see cref="Backward"/> what passes back to h; then hand it to <see cref="UnitGradient"/> (or
/// <see cref="ReluRules"/>) like the three.
/// </summary>
/// <param name="name">What figures and messages call the rule.</param>
public abstract class ReluBackward(string name)
{
    /// <summary>The true gradient: pass the arriving gradient where the forward input h was positive.</summary>
    public static ReluBackward Backprop { get; } = new TrueGradient();

    /// <summary>Zeiler and Fergus' deconvnet: pass the arriving gradient where it is positive (a ReLU on the gradient), whatever h was.</summary>
    public static ReluBackward Deconvnet { get; } = new DeconvnetRule();

    /// <summary>Springenberg et al.'s guided backpropagation: pass only where both h and the arriving gradient are positive.</summary>
    public static ReluBackward Guided { get; } = new GuidedRule();

    /// <summary>The three rules of the lecture, in its order (notebook 06 draws each).</summary>
    public static IReadOnlyList<ReluBackward> Classic { get; } = [Backprop, Deconvnet, Guided];

    /// <summary>What figures and messages call the rule.</summary>
    public string Name => name;

    /// <summary>
    /// True for <see cref="Backprop"/>, the ReLU's own derivative: the kit then runs the network as it is, without
    /// hooks or a step of its own in the graph, so the plain gradient costs what autograd's costs and equals it exactly.
    /// </summary>
    public bool IsTrueGradient => ReferenceEquals(this, Backprop);

    /// <summary>
    /// What one ReLU passes back to its input: given the forward input <paramref name="input"/> (h, the whole batch)
    /// and the gradient arriving at the ReLU's output (shaped like h), the gradient with respect to h, shaped like h.
    /// Called inside autograd's backward pass: compute with tensor operations only.
    /// </summary>
    public abstract Tensor Backward(Tensor input, Tensor arriving);

    public override string ToString() => Name;

    sealed class TrueGradient() : ReluBackward("Backprop")
    {
        public override Tensor Backward(Tensor input, Tensor arriving) => arriving.masked_fill(input.le(0), 0);
    }

    sealed class DeconvnetRule() : ReluBackward("Deconvnet")
    {
        public override Tensor Backward(Tensor input, Tensor arriving) => arriving.relu();
    }

    sealed class GuidedRule() : ReluBackward("Guided")
    {
        public override Tensor Backward(Tensor input, Tensor arriving) => arriving.relu().masked_fill(input.le(0), 0);
    }
}

/// <summary>
/// A ReLU whose backward pass follows a <see cref="ReluBackward"/> rule, as a custom autograd function: forward
/// computes max(0, h) and keeps h; backward asks the rule what passes back.
/// </summary>
sealed class RuledRelu : autograd.SingleTensorFunction<RuledRelu>
{
    public override string Name => nameof(RuledRelu);

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var input = (Tensor)vars[0];
        ctx.save_for_backward([input]);
        ctx.save_data("rule", vars[1]);
        return input.relu();
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        using var scope = NewDisposeScope();
        var input = ctx.get_saved_variables()[0];
        var passed = ((ReluBackward)ctx.get_data("rule")).Backward(input, gradOutput);
        // One entry per forward argument: the rule is not a tensor and gets no gradient.
        return [passed.MoveToOuterDisposeScope(), null!];
    }
}

/// <summary>
/// Gives every ReLU module of a model a <see cref="ReluBackward"/> rule until disposed, without changing the model:
/// a forward pre-hook keeps the ReLU's input h and hands the module a detached copy (so that an in-place ReLU
/// cannot leave its own plain backward step in the graph), and a forward hook replaces the module's output by the
/// same max(0, h) computed through <see cref="RuledRelu"/>. Dispose removes every hook, also after an error.
/// ReLUs written as tensor operations inside another module's forward (not as modules) are out of reach and keep
/// the plain rule: in TorchVision's ResNet, the ReLU after each residual addition.
/// </summary>
public sealed class ReluRules : IDisposable
{
    readonly List<TensorHooks.HookRemover> removers = [];
    readonly Dictionary<nn.Module, Tensor> inputs = new(ReferenceEqualityComparer.Instance);
    readonly Dictionary<nn.Module, Tensor> outputs = new(ReferenceEqualityComparer.Instance);

    ReluRules(nn.Module<Tensor, Tensor> network, ReluBackward rule)
    {
        Rule = rule;
        try
        {
            foreach (var relu in network.modules().OfType<ReluModule>())
            {
                removers.Add(relu.register_forward_pre_hook((module, input) =>
                {
                    inputs[module] = input;
                    return input.detach().clone();
                }));
                removers.Add(relu.register_forward_hook((module, _, _) =>
                {
                    if (!inputs.Remove(module, out var input))
                        throw new InvalidOperationException("A ReLU ran its forward hook without its pre-hook.");
                    var output = RuledRelu.apply(input, rule);
                    if (outputs.Remove(module, out var previous))
                        previous.Dispose();
                    // Kept beyond any dispose scope of the network's own forward, like LayerCapture does.
                    outputs[module] = output.alias().DetachFromDisposeScope();
                    return output;
                }));
            }
        }
        catch
        {
            Dispose();
            throw;
        }
        ModuleCount = removers.Count / 2;
    }

    /// <summary>Applies <paramref name="rule"/> to every ReLU module of <paramref name="model"/> until the result is disposed.</summary>
    public static ReluRules Apply(VisionModel model, ReluBackward rule) => new(model.Module, rule);

    /// <summary>The rule in force.</summary>
    public ReluBackward Rule { get; }

    /// <summary>How many ReLU modules were reached.</summary>
    public int ModuleCount { get; }

    /// <summary>
    /// The most recent output of a ReLU module, as computed through the rule (in the autograd graph), or null if the
    /// module is not a ReLU or has not run. A capture hook on the same module might run before the rule's hook and
    /// see the discarded original output, so gradients from a ReLU layer must start here.
    /// </summary>
    public Tensor? OutputOf(nn.Module module) => outputs.GetValueOrDefault(module);

    /// <summary>
    /// max(0, <paramref name="h"/>) whose backward pass follows <paramref name="rule"/>: the rule on one tensor,
    /// for checking it by hand.
    /// </summary>
    public static Tensor Relu(Tensor h, ReluBackward rule) => RuledRelu.apply(h, rule);

    public void Dispose()
    {
        foreach (var remover in removers)
            remover.remove();
        removers.Clear();
        foreach (var t in outputs.Values)
            t.Dispose();
        outputs.Clear();
        inputs.Clear();
    }
}
