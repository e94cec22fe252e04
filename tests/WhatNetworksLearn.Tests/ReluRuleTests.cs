using TorchSharp;
using WhatNetworksLearn.Attribution;
using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

public class ReluRuleTests
{
    // The lecture's 3 x 3 example: the ReLU's forward input, the gradient arriving from above, and what each rule passes back.
    static readonly float[,] H = { { 1, -1, 5 }, { 2, -5, -7 }, { -3, 2, 4 } };
    static readonly float[,] Arriving = { { -2, 3, -1 }, { 6, -3, 1 }, { 2, -1, 3 } };
    static readonly float[,] ReluOutput = { { 1, 0, 5 }, { 2, 0, 0 }, { 0, 2, 4 } };
    public static TheoryData<ReluBackward, float[,]> LectureBackward => new()
    {
        { ReluBackward.Backprop, new float[,] { { -2, 0, -1 }, { 6, 0, 0 }, { 0, -1, 3 } } },
        { ReluBackward.Deconvnet, new float[,] { { 0, 3, 0 }, { 6, 0, 1 }, { 2, 0, 3 } } },
        { ReluBackward.Guided, new float[,] { { 0, 0, 0 }, { 6, 0, 0 }, { 0, 0, 3 } } },
    };

    [Theory]
    [MemberData(nameof(LectureBackward))]
    public void The_lecture_example_is_reproduced_exactly(ReluBackward rule, float[,] expected)
    {
        using var h = tensor(H).requires_grad_(true);
        using var output = ReluRules.Relu(h, rule);
        Assert.Equal(ReluOutput.Cast<float>(), output.detach().data<float>().ToArray());
        using var arriving = tensor(Arriving);
        output.backward([arriving]);
        Assert.Equal(expected.Cast<float>(), h.grad!.data<float>().ToArray());
    }

    [Fact]
    public void Plain_rule_equals_autograd_without_hooks_and_finite_differences()
    {
        using var model = SmallNet();
        using var pixels = Images(1, seed: 1);
        foreach (var (layer, channel) in new[] { ("relu2", 1), ("pool", 2), ("conv2", 0) })
        {
            var position = StrongestPosition(model, pixels, layer, channel);
            using var ours = new UnitGradient(model, ReluBackward.Backprop).Of(pixels, layer, channel, position);
            using var reference = PlainGradient(model, pixels, layer, channel, position);
            Assert.True(ours.allclose(reference, rtol: 1e-10, atol: 1e-12), $"{layer}: differs from plain autograd");
            Assert.True(reference.abs().max().item<double>() > 0, $"{layer}: the unit must depend on the image");

            // Central differences: exact for a network that is linear near the point (no ReLU switches within eps).
            const double eps = 1e-6;
            var numeric = new double[64];
            for (int i = 0; i < 64; i++)
            {
                using var plus = pixels.clone();
                using var minus = pixels.clone();
                plus[0, 0, i / 8, i % 8] += eps;
                minus[0, 0, i / 8, i % 8] -= eps;
                numeric[i] = (Unit(model, plus, layer, channel, position) - Unit(model, minus, layer, channel, position)) / (2 * eps);
            }
            var analytic = ours.flatten().data<double>().ToArray();
            for (int i = 0; i < 64; i++)
                Assert.True(Math.Abs(analytic[i] - numeric[i]) < 1e-6, $"{layer}, pixel {i}: autograd {analytic[i]}, finite differences {numeric[i]}");
        }
    }

    [Theory]
    [InlineData("Backprop")]
    [InlineData("Deconvnet")]
    [InlineData("Guided")]
    public void Every_rule_equals_a_step_by_step_chain_rule_with_explicit_masks(string name)
    {
        var rule = Rule(name);
        // The same network run layer by layer; the rule applied by hand between two autograd steps.
        using var model = SmallNet();
        using var pixels = Images(2, seed: 2);
        using var ours = new UnitGradient(model, rule).Of(pixels, "conv2", 1, (3, 2));

        using var scope = NewDisposeScope();
        var x = pixels.clone().requires_grad_(true);
        var h1 = ((nn.Module<Tensor, Tensor>)model.Layer("conv1")).call((x - 0.5) / 0.25);
        var a1 = h1.detach().relu().requires_grad_(true);
        var h2 = ((nn.Module<Tensor, Tensor>)model.Layer("conv2")).call(a1);
        var gA1 = autograd.grad([h2[.., 1, 3, 2].sum()], [a1])[0];
        var gH1 = name switch
        {
            "Backprop" => gA1 * h1.detach().gt(0),
            "Deconvnet" => gA1.relu(),
            _ => gA1.relu() * h1.detach().gt(0),
        };
        var expected = autograd.grad([h1], [x], [gH1])[0];
        Assert.True(ours.allclose(expected, rtol: 1e-10, atol: 1e-12));
        if (rule != ReluBackward.Backprop)
            Assert.True((gA1.lt(0) * h1.gt(0)).any().item<bool>(), "the example must have a negative gradient at an active unit, or the rules coincide");
    }

    [Fact]
    public void Gradients_are_computed_even_inside_a_no_grad_block()
    {
        using var model = SmallNet();
        using var pixels = Images(1, seed: 13);
        using var expected = new UnitGradient(model, ReluBackward.Guided).Of(pixels, "relu2", 3);
        using var noGrad = no_grad();
        using var inside = new UnitGradient(model, ReluBackward.Guided).Of(pixels, "relu2", 3);
        Assert.True(inside.eq(expected).all().item<bool>());
        using var saliency = new UnitGradient(model, ReluBackward.Backprop).Attribute(pixels, 0);
        Assert.True(saliency.abs().max().item<double>() > 0);
    }

    [Fact]
    public void A_whole_layer_is_the_sum_of_its_channels()
    {
        using var model = SmallNet();
        using var pixels = Images(2, seed: 12);
        // Plain backpropagation is linear in the gradient it starts from (the deconvnet and guided rules are not).
        var unit = new UnitGradient(model, ReluBackward.Backprop);
        using var total = unit.OfLayer(pixels, "relu2");
        using var scope = NewDisposeScope();
        var channels = Enumerable.Range(0, 4).Select(c => unit.Of(pixels, "relu2", c)).Aggregate((a, b) => a + b);
        Assert.True(total.allclose(channels, rtol: 1e-10, atol: 1e-14));
    }

    [Fact]
    public void The_rules_differ_where_the_lecture_says()
    {
        using var model = SmallNet();
        using var pixels = Images(1, seed: 3);
        using var plain = new UnitGradient(model, ReluBackward.Backprop).Of(pixels, "relu2", 0);
        using var deconv = new UnitGradient(model, ReluBackward.Deconvnet).Of(pixels, "relu2", 0);
        using var guided = new UnitGradient(model, ReluBackward.Guided).Of(pixels, "relu2", 0);
        Assert.False(plain.allclose(guided));
        Assert.False(deconv.allclose(guided));
        Assert.False(plain.allclose(deconv));
    }

    [Fact]
    public void The_model_is_unchanged_afterwards_even_after_an_error()
    {
        using var model = SmallNet();
        using var pixels = Images(2, seed: 4);
        using var outputBefore = Output(model, pixels);
        using var gradientBefore = PlainGradient(model, pixels, "relu2", 1, (1, 2));

        using (var _ = new UnitGradient(model, ReluBackward.Guided).Of(pixels, "relu2", 1, (1, 2))) { }
        AssertUnchanged();
        // The channel check fails after the hooks are in place and the forward pass has run.
        Assert.Throws<ArgumentOutOfRangeException>(() => new UnitGradient(model, ReluBackward.Deconvnet).Of(pixels, "relu2", 99));
        AssertUnchanged();
        Assert.Throws<ArgumentOutOfRangeException>(() => new UnitGradient(model, ReluBackward.Guided).Of(pixels, "relu2", 0, (7, 0)));
        AssertUnchanged();

        void AssertUnchanged()
        {
            using var outputAfter = Output(model, pixels);
            using var gradientAfter = PlainGradient(model, pixels, "relu2", 1, (1, 2));
            Assert.True(outputAfter.eq(outputBefore).all().item<bool>());
            Assert.True(gradientAfter.eq(gradientBefore).all().item<bool>(), "a hook with a modified rule was left on the model");
        }
    }

    [Theory]
    [InlineData("Backprop")]
    [InlineData("Guided")]
    public void Batched_equals_unbatched(string name)
    {
        var rule = Rule(name);
        using var model = SmallNet();
        using var pixels = Images(3, seed: 5);
        var unit = new UnitGradient(model, rule);
        using var channelSum = unit.Of(pixels, "relu2", 2);
        (int, int)[] positions = [(0, 0), (5, 5), (2, 4)];
        using var perImage = unit.Of(pixels, "relu2", 2, positions);
        for (int n = 0; n < 3; n++)
        {
            using var one = pixels.narrow(0, n, 1);
            using var alone = unit.Of(one, "relu2", 2);
            Assert.True(alone[0].allclose(channelSum[n], rtol: 1e-10, atol: 1e-14));
            using var neuron = unit.Of(one, "relu2", 2, positions[n]);
            Assert.True(neuron[0].allclose(perImage[n], rtol: 1e-10, atol: 1e-14));
        }
    }

    [Fact]
    public void Class_gradients_follow_the_rule_and_attributions_are_per_pixel()
    {
        using var model = SmallNet();
        using var pixels = Images(2, seed: 6);
        using var plain = new UnitGradient(model, ReluBackward.Backprop).Attribute(pixels, 1);
        using var scope = NewDisposeScope();
        var x = pixels.clone().requires_grad_(true);
        var expected = autograd.grad([model.Module.forward(x)[.., 1].sum()], [x])[0];
        Assert.True(plain.allclose(expected, rtol: 1e-10, atol: 1e-14));
        using var guided = new UnitGradient(model, ReluBackward.Guided).Attribute(pixels, 1);
        Assert.Equal(pixels.shape, guided.shape);
        using var map = Attributions.PerPixel(guided);
        Assert.Equal(new long[] { 2, 8, 8 }, map.shape);
        Assert.True(map.ge(0).all().item<bool>());
        Assert.Throws<ArgumentOutOfRangeException>(() => new UnitGradient(model, ReluBackward.Guided).Attribute(pixels, 2));
    }

    [Fact]
    public void The_true_gradient_is_plain_autograd_to_the_last_bit()
    {
        // The network runs untouched under the true gradient, so the kit's answer is autograd's, bit for bit: for class
        // scores, for a unit of a layer and for the output of an in-place ReLU, in float64 and in float32.
        using var model = SmallNet();
        using var pixels = Images(3, seed: 14);
        var unit = new UnitGradient(model, ReluBackward.Backprop);
        using var scores = unit.Attribute(pixels, Targets.PerImage([1, 0, 1]));
        using var raw = RawGradient(model, pixels, x => model.Module.forward(x).gather(1, tensor(new long[] { 1, 0, 1 }).unsqueeze(1)).sum());
        Assert.True(scores.eq(raw).all().item<bool>());
        foreach (var layer in new[] { "relu1", "conv2" })
        {
            using var ours = unit.Of(pixels, layer, 2);
            using var reference = PlainGradient(model, pixels, layer, 2, null);
            Assert.True(ours.eq(reference).all().item<bool>(), $"{layer}: not autograd's gradient exactly");
            Assert.True(ours.abs().max().item<double>() > 0);
        }

        manual_seed(0);
        using var resnet = TorchVisionModels.CreateUntrained("resnet18", CPU);
        using var photo = rand(1, 3, 224, 224, generator: new Generator(15));
        using var kit = new UnitGradient(resnet, ReluBackward.Backprop).Attribute(photo, 281);
        using var torch = RawGradient(resnet, photo, x => resnet.Module.forward(x)[.., 281].sum());
        Assert.True(kit.eq(torch).all().item<bool>());
    }

    [Fact]
    public void A_rule_of_your_own_is_one_class_DeepLifts_rescale_rule_sums_to_the_change_of_the_score()
    {
        // DeepLIFT's rescale rule (Shrikumar et al., 2017), written here, outside the library, as a teacher would add it:
        // each image comes with its reference in the second half of the batch, and every ReLU passes back the arriving
        // gradient times Δ output / Δ input against the reference. Through linear layers and ReLUs, the pixels'
        // contributions (that gradient times the change of the pixel) then add up to the change of the score exactly,
        // which the plain gradient times the change does not.
        using var model = TinyMlp();
        using var images = Images(5, seed: 16, size: 4);
        using var references = Images(5, seed: 17, size: 4);
        using var both = cat([images, references]);
        using var rescale = new UnitGradient(model, new Rescale()).Attribute(both, 2);
        using var plain = new UnitGradient(model, ReluBackward.Backprop).Attribute(both, 2);
        using var scope = NewDisposeScope();
        var change = images - references;
        var scores = Output(model, both)[.., 2];
        var scoreChange = scores[..5] - scores[5..];
        var summed = (rescale[..5] * change).sum([1, 2, 3]);
        Assert.True(summed.allclose(scoreChange, rtol: 1e-10, atol: 1e-12), $"{summed.str()} against {scoreChange.str()}");
        var plainSummed = (plain[..5] * change).sum([1, 2, 3]);
        Assert.True((plainSummed - scoreChange).abs().max().item<double>() > 1e-3, "the example must have ReLUs that switch between image and reference");
        Assert.Equal("Rescale", new Rescale().ToString());
    }

    /// <summary>DeepLIFT's rescale rule for a batch of images followed by as many references.</summary>
    sealed class Rescale() : ReluBackward("Rescale")
    {
        public override Tensor Backward(Tensor input, Tensor arriving)
        {
            var halves = input.chunk(2);
            var delta = halves[0] - halves[1];
            var multiplier = where(delta.abs().gt(1e-9), (halves[0].relu() - halves[1].relu()) / delta, halves[0].gt(0).to(input.dtype));
            return arriving * cat([multiplier, multiplier]);
        }
    }

    [Fact]
    public void Bad_requests_are_refused_with_reasons()
    {
        using var model = SmallNet();
        using var pixels = Images(1, seed: 7);
        var unit = new UnitGradient(model, ReluBackward.Guided);
        Assert.Contains("Valid names", Assert.Throws<ArgumentException>(() => unit.Of(pixels, "conv9", 0)).Message);
        Assert.Contains("channels 0 to 3", Assert.Throws<ArgumentOutOfRangeException>(() => unit.Of(pixels, "relu2", 4)).Message);
        Assert.Contains("not feature maps", Assert.Throws<ArgumentException>(() => unit.Of(pixels, "fc", 0)).Message);
        Assert.Contains("one position per image", Assert.Throws<ArgumentException>(() => unit.Of(pixels, "relu2", 0, [(0, 0), (1, 1)])).Message);
        using var wrongSize = zeros(1, 1, 9, 9, ScalarType.Float64);
        Assert.Throws<ArgumentException>(() => unit.Of(wrongSize, "relu2", 0));
    }

    [Theory]
    [InlineData("Backprop")]
    [InlineData("Deconvnet")]
    [InlineData("Guided")]
    public void Works_on_torchvision_resnet18(string name)
    {
        var rule = Rule(name);
        manual_seed(0);
        using var model = TorchVisionModels.CreateUntrained("resnet18", CPU);
        using var rules = ReluRules.Apply(model, rule);
        Assert.True(rules.ModuleCount >= 9, $"only {rules.ModuleCount} ReLU modules reached");
        rules.Dispose();
        using var pixels = rand(1, 3, 224, 224, generator: new Generator(8));
        using var gradient = new UnitGradient(model, rule).Of(pixels, "layer3", 5);
        Assert.Equal(new long[] { 1, 3, 224, 224 }, gradient.shape);
        Assert.True(gradient.isfinite().all().item<bool>());
        Assert.True(gradient.abs().max().item<float>() > 0);
        using var classGradient = new UnitGradient(model, rule).Attribute(pixels, 281);
        Assert.True(classGradient.isfinite().all().item<bool>());
    }

    [Fact]
    public void Reaches_every_relu_of_the_imagenet_trunk()
    {
        using var model = ModelRegistry.Load(ModelRegistry.TrunkName, CPU);
        int reluLayers = model.LayerNames.Count(n => model.Layer(n) is TorchSharp.Modules.ReLU);
        using (var rules = ReluRules.Apply(model, ReluBackward.Guided))
            Assert.Equal(reluLayers, rules.ModuleCount);
        using var pixels = rand(1, 3, 224, 224, generator: new Generator(9));
        using var guided = new UnitGradient(model, ReluBackward.Guided).Of(pixels, "layer3.1.relu2", 10, (7, 7));
        using var plain = new UnitGradient(model, ReluBackward.Backprop).Of(pixels, "layer3.1.relu2", 10, (7, 7));
        Assert.True(guided.isfinite().all().item<bool>());
        Assert.False(guided.allclose(plain), "guided backpropagation must differ from the plain gradient on a deep unit");
    }

    /// <summary>
    /// A small float64 network on 1 x 8 x 8 images with an in-place ReLU (relu1): conv 3x3 pad 1 (4 channels),
    /// ReLU, conv 3x3 (4 channels, 6 x 6), ReLU, max pool 2 (3 x 3), fully connected to 2 classes.
    /// </summary>
    static VisionModel SmallNet()
    {
        manual_seed(42);
        var network = nn.Sequential(
            ("conv1", nn.Conv2d(1, 4, 3, padding: 1)),
            ("relu1", nn.ReLU(inplace: true)),
            ("conv2", nn.Conv2d(4, 4, 3)),
            ("relu2", nn.ReLU()),
            ("pool", nn.MaxPool2d(2)),
            ("flatten", nn.Flatten()),
            ("fc", nn.Linear(36, 2)));
        network.to(ScalarType.Float64);
        return new VisionModel("small-net", "test network", network, new InputSpec(1, 8, 8, [0.5f], [0.25f]), ["a", "b"], null, CPU);
    }

    /// <summary>A float64 perceptron on 1 x 4 x 4 images: 16 → 8 → ReLU → 6 → ReLU → 3 classes.</summary>
    static VisionModel TinyMlp()
    {
        manual_seed(43);
        var network = nn.Sequential(("flatten", nn.Flatten()), ("fc1", nn.Linear(16, 8)), ("relu1", nn.ReLU()),
            ("fc2", nn.Linear(8, 6)), ("relu2", nn.ReLU()), ("fc3", nn.Linear(6, 3)));
        network.to(ScalarType.Float64);
        return new VisionModel("tiny-mlp", "test network", network, new InputSpec(1, 4, 4, [0.5f], [0.25f]), ["a", "b", "c"], null, CPU);
    }

    static ReluBackward Rule(string name) => ReluBackward.Classic.Single(rule => rule.Name == name);

    static Tensor Images(int count, int seed, int size = 8) => rand(count, 1, size, size, ScalarType.Float64, generator: new Generator((ulong)seed));

    /// <summary>The gradient of <paramref name="objective"/> with respect to the pixels by TorchSharp alone: no kit code in between.</summary>
    static Tensor RawGradient(VisionModel model, Tensor pixels, Func<Tensor, Tensor> objective)
    {
        using var scope = NewDisposeScope();
        var x = pixels.clone().requires_grad_(true);
        objective(x).backward();
        return x.grad!.detach().clone().MoveToOuterDisposeScope();
    }

    static Tensor Output(VisionModel model, Tensor pixels)
    {
        using var noGrad = no_grad();
        return model.Forward(pixels);
    }

    /// <summary>The gradient of the unit at <paramref name="p"/> (of the channel's sum when null) by plain autograd: no hooks but the capture of the layer.</summary>
    static Tensor PlainGradient(VisionModel model, Tensor pixels, string layer, int channel, (int Y, int X)? p)
    {
        using var scope = NewDisposeScope();
        var x = pixels.clone().requires_grad_(true);
        using var capture = new LayerCapture(model, [layer], detach: false);
        model.Module.forward(x);
        var map = capture[layer][.., channel];
        var unit = p is { } at ? map[.., at.Y, at.X] : map;
        return autograd.grad([unit.sum()], [x])[0].MoveToOuterDisposeScope();
    }

    /// <summary>The position where the channel responds most to the first image: an active unit, so that its gradient is not zero.</summary>
    static (int Y, int X) StrongestPosition(VisionModel model, Tensor pixels, string layer, int channel)
    {
        var outputs = model.Activations(pixels, layer);
        using var activation = outputs[layer];
        int width = (int)activation.shape[3];
        int index = (int)activation[0, channel].argmax().item<long>();
        return (index / width, index % width);
    }

    static double Unit(VisionModel model, Tensor pixels, string layer, int channel, (int Y, int X) p)
    {
        var outputs = model.Activations(pixels, layer);
        using var activation = outputs[layer];
        return activation[0, channel, p.Y, p.X].item<double>();
    }
}
