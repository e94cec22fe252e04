using WhatNetworksLearn.Adversarial;
using WhatNetworksLearn.Attribution;
using WhatNetworksLearn.Data;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Synthesis;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

/// <summary>The one gradient path (InputGradient) and every technique that takes a gradient through it.</summary>
public sealed class InputGradientTests : IDisposable
{
    readonly VisionModel model = FashionCnn.Load(CPU);
    readonly Tensor images;
    readonly Tensor labels;

    public InputGradientTests()
    {
        var sample = FashionMnist.LoadSample(6);
        (images, labels) = (sample.Images, sample.Labels);
    }

    /// <summary>
    /// Every technique that takes a gradient, on the kit's network (which has batch normalisation and dropout, so a
    /// forward pass in training mode would give other numbers), with what it computes from the gradient. Attacks keep the
    /// same promise in their family's contract (AttackContractTests).
    /// </summary>
    public static TheoryData<string> GradientTechniques() => new(Runs.Keys);

    static readonly Dictionary<string, Func<VisionModel, Tensor, Tensor, Tensor>> Runs = new()
    {
        ["class saliency"] = (m, x, _) => new UnitGradient(m, ReluBackward.Backprop).Attribute(x, 3),
        ["guided backprop of a unit"] = (m, x, _) => new UnitGradient(m, ReluBackward.Guided).Of(x, "relu3", 5, (3, 3)),
        ["smoothgrad"] = (m, x, _) => new SmoothGrad(new UnitGradient(m, ReluBackward.Backprop), new SmoothGradOptions(Samples: 3)).Attribute(x, 3),
        ["class models"] = (m, _, _) => Images(ActivationMaximization.ClassModels(m, [1, 7], new MaximizationOptions(Steps: 3))),
        ["deepdream"] = (m, x, _) => Images(DeepDream.Run(m, x, new DeepDreamOptions("relu2", Octaves: 1, StepsPerOctave: 2))),
        ["fooling images"] = (m, _, _) => Images(FoolingImages.ByGradientAscent(m, [2, 4], new GradientFoolingOptions(Steps: 3))),
        ["adversarial patch"] = (m, x, _) =>
        {
            using var training = new AdversarialPatch(m, new PatchOptions(PatchSize: 8, Steps: 3, BatchSize: 4)).Train(x, 8);
            return training.Patch.clone();
        },
    };

    static Tensor Images(IDisposable result)
    {
        using (result)
            return result switch
            {
                SynthesisResult s => s.Images.clone(),
                DeepDreamResult d => d.Image.clone(),
                FoolingResult f => f.Images.clone(),
                _ => throw new ArgumentException("unknown result"),
            };
    }

    [Theory]
    [MemberData(nameof(GradientTechniques))]
    public void Gives_the_same_result_inside_no_grad_and_from_any_mode_and_leaves_the_mode_as_it_was(string technique) =>
        AssertRunsAsAtTestTime(model, () => Runs[technique](model, images, labels));

    /// <summary>
    /// Runs <paramref name="run"/> (a technique on fashion-cnn, <paramref name="model"/>, whose batch normalisation and
    /// dropout answer differently in training mode) from evaluation mode, inside no_grad, from training mode and from
    /// mixed modes: the result is the same each time, every layer gets its mode back, and no weight changes or
    /// collects a gradient.
    /// </summary>
    internal static void AssertRunsAsAtTestTime(VisionModel model, Func<Tensor> run)
    {
        using var reference = run();
        using (no_grad())
        {
            using var inside = run();
            Assert.True(SynthesisTests.Identical(reference, inside), "inside no_grad the result differs");
        }
        Assert.True(is_grad_enabled());

        // In training mode, and with only some layers training: the technique runs the network as at test time and
        // gives every layer back its mode. Batch normalisation in training mode would change its running statistics.
        var parameters = model.Module.state_dict().ToDictionary(p => p.Key, p => p.Value.clone());
        foreach (var mixed in new[] { false, true })
        {
            model.Module.train();
            if (mixed)
                model.Layer("bn2").eval();
            using var fromTraining = run();
            Assert.True(SynthesisTests.Identical(reference, fromTraining), $"from {(mixed ? "mixed modes" : "training mode")} the result differs");
            Assert.True(model.Module.training, "the model was left out of training mode");
            Assert.Equal(!mixed, model.Layer("bn2").training);
            Assert.True(model.Layer("bn1").training && model.Layer("dropout").training);
        }
        model.Module.eval();
        foreach (var (name, value) in model.Module.state_dict())
            Assert.True(SynthesisTests.Identical(value, parameters[name]), $"{name} changed");
        Assert.All(model.Module.parameters(), p => Assert.Null(p.grad));
        foreach (var t in parameters.Values)
            t.Dispose();
    }

    [Fact]
    public void An_objective_that_ignores_the_input_is_a_clear_error_not_a_crash()
    {
        // Through the model's weights, but not through the input.
        var throughWeights = Assert.Throws<InvalidOperationException>(() => InputGradient.Of(model, images, _ => model.Module.forward(images).sum()));
        Assert.Contains("does not depend on the input", throughWeights.Message);
        // Through nothing autograd watches at all.
        var constant = Assert.Throws<InvalidOperationException>(() => InputGradient.Of(model, images, x => x.detach().sum()));
        Assert.Contains("does not depend on the input", constant.Message);
        // The same inside a no_grad block, where it used to end the process.
        using (no_grad())
            Assert.Throws<InvalidOperationException>(() => InputGradient.Of(model, images, _ => zeros(1).sum()));
        Assert.All(model.Module.parameters(), p => Assert.Null(p.grad));
    }

    [Fact]
    public void The_mode_is_given_back_when_the_objective_throws()
    {
        model.Module.train();
        Assert.Throws<ArithmeticException>(() => InputGradient.Of(model, images, _ => throw new ArithmeticException()));
        Assert.True(model.Module.training && model.Layer("dropout").training);
        model.Module.eval();
    }

    [Fact]
    public void The_gradient_is_that_of_plain_autograd_and_of_each_images_own_value()
    {
        using var scope = NewDisposeScope();
        var gradient = InputGradient.Of(model, images, x => model.Module.forward(x)[.., 3]);
        var x = images.clone().requires_grad_(true);
        var expected = autograd.grad([model.Module.forward(x)[.., 3].sum()], [x])[0];
        Assert.True(gradient.allclose(expected, rtol: 1e-5, atol: 1e-7));
        // Images do not interact: image 2's gradient alone is its share of the batch's.
        var alone = InputGradient.Of(model, images[2..3], x => model.Module.forward(x)[.., 3]);
        Assert.True(alone[0].allclose(gradient[2], rtol: 1e-4, atol: 1e-6));
    }

    [Fact]
    public void Gradients_with_respect_to_a_layer_are_those_of_the_rest_of_the_network()
    {
        // What Grad-CAM needs: the feature maps of a layer and the class score's gradient with respect to them.
        using var scope = NewDisposeScope();
        using var result = InputGradient.Take(model, images, x => model.Module.forward(x)[.., 3], ["relu3"]);
        var relu3 = result.LayerOutputs["relu3"];
        Assert.Equal(new long[] { 6, 128, 7, 7 }, relu3.shape);
        var activations = model.Activations(images, "relu3")["relu3"];
        Assert.True(relu3.allclose(activations, rtol: 1e-5, atol: 1e-6));
        // The rest of the network after relu3, run by hand from a leaf at its output, gives the same gradient.
        var leaf = activations.clone().requires_grad_(true);
        var rest = model.Network.named_children().SkipWhile(c => c.name != "relu3").Skip(1).Select(c => (nn.Module<Tensor, Tensor>)c.module);
        var score = rest.Aggregate(leaf, (h, layer) => layer.call(h))[.., 3].sum();
        var expected = autograd.grad([score], [leaf])[0];
        Assert.True(result.LayerGradients["relu3"].allclose(expected, rtol: 1e-5, atol: 1e-7));
        // ...and the input gradient is the plain one.
        var plain = InputGradient.Of(model, images, x => model.Module.forward(x)[.., 3]);
        Assert.True(result.Gradient.allclose(plain, rtol: 1e-5, atol: 1e-7));
        activations.Dispose();
    }

    [Fact]
    public void Per_image_targets_give_each_image_the_gradient_of_its_own_class()
    {
        // What Integrated Gradients needs: a batch of path points, each explained for its own class.
        var saliency = new UnitGradient(model, ReluBackward.Backprop);
        using var scope = NewDisposeScope();
        int[] classes = [0, 3, 3, 9, 1, 5];
        var together = saliency.Attribute(images, Targets.PerImage(classes));
        for (int i = 0; i < classes.Length; i++)
            Assert.True(saliency.Attribute(images[i..(i + 1)], classes[i])[0].allclose(together[i], rtol: 1e-4, atol: 1e-7), $"image {i}");
        var fromLabels = saliency.Attribute(images, Targets.FromLabels(tensor(classes.Select(c => (float)c).ToArray())));
        Assert.True(SynthesisTests.Identical(fromLabels, together));
    }

    public void Dispose()
    {
        images.Dispose();
        labels.Dispose();
        model.Dispose();
    }
}
