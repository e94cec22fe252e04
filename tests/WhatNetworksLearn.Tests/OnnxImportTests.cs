using System.Diagnostics;
using System.Text;
using Microsoft.ML.OnnxRuntime;
using TorchSharp;
using TorchSharp.Modules;
using WhatNetworksLearn.Data;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Models.Onnx;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

/// <summary>Loads the trunk once for all the tests that only read it.</summary>
public sealed class TrunkFixture : IDisposable
{
    public TrunkFixture()
    {
        var clock = Stopwatch.StartNew();
        Trunk = ImageNetTrunk.Load();
        LoadSeconds = clock.Elapsed.TotalSeconds;
    }

    public OnnxGraphModule Trunk { get; }
    public double LoadSeconds { get; }

    public void Dispose() => Trunk.Dispose();
}

public class OnnxImportTests(TrunkFixture fixture, ITestOutputHelper output) : IClassFixture<TrunkFixture>
{
    static readonly string[] Photos = ["chelsea.png", "coffee.png", "rocket.jpg", "astronaut.png"];

    /// <summary>The kit's photos as an N x 3 x 224 x 224 batch of pixels in [0,1].</summary>
    static Tensor PhotoBatch(params string[] names)
    {
        using var scope = NewDisposeScope();
        var root = Kit.Root(AppContext.BaseDirectory);
        var images = names.Select(name =>
        {
            var image = ImageFiles.Load(Path.Combine(root, "data", "images", name)).unsqueeze(0);
            return nn.functional.interpolate(image, [ImageNetTrunk.InputSize, ImageNetTrunk.InputSize],
                mode: InterpolationMode.Bilinear, align_corners: false).clamp(0, 1);
        }).ToList();
        return cat(images, 0).MoveToOuterDisposeScope();
    }

    /// <summary>What ML.NET computes: pixels scaled to 0..255 (ExtractPixels' defaults), ResNetPreprocess.onnx, then ResNet18.onnx, in ONNX Runtime.</summary>
    static float[] OnnxRuntimeFeatures(Tensor pixels)
    {
        using var scope = NewDisposeScope();
        using var preprocess = new InferenceSession(ImageNetTrunk.PreprocessingPath);
        using var trunk = new InferenceSession(ImageNetTrunk.TrunkPath);
        using var options = new RunOptions();
        var values = (pixels.unsqueeze(0) * 255f).contiguous().data<float>().ToArray();
        using var input = OrtValue.CreateTensorValueFromMemory(values, [1, 3, ImageNetTrunk.InputSize, ImageNetTrunk.InputSize]);
        using var normalised = preprocess.Run(options, [preprocess.InputNames[0]], [input], [preprocess.OutputNames[0]]);
        using var features = trunk.Run(options, [trunk.InputNames[0]], [normalised[0]], [trunk.OutputNames[0]]);
        return features[0].GetTensorDataAsSpan<float>().ToArray();
    }

    [Fact]
    public void The_imported_trunk_computes_what_onnx_runtime_computes()
    {
        using var scope = NewDisposeScope();
        var pixels = PhotoBatch(Photos);
        using var noGrad = no_grad();
        var clock = Stopwatch.StartNew();
        var ours = fixture.Trunk.call(pixels);
        output.WriteLine($"forward of {Photos.Length} images: {clock.Elapsed.TotalMilliseconds:F0} ms; load took {fixture.LoadSeconds:F2} s");
        Assert.Equal([Photos.Length, ImageNetTrunk.FeatureCount], ours.shape);

        for (var i = 0; i < Photos.Length; i++)
        {
            var reference = tensor(OnnxRuntimeFeatures(pixels[i]));
            Assert.Equal(ImageNetTrunk.FeatureCount, reference.shape[0]);
            var scale = reference.abs().max().ToSingle();
            var difference = (ours[i] - reference).abs().max().ToSingle();
            output.WriteLine($"{Photos[i]}: max |feature| {scale:F3}, max |ours - ONNX Runtime| {difference:E2}");
            // Seen on the kit's 2-core x64 CPU: max differences of 3.8e-6 to 5.7e-6 on features whose largest values
            // are 10.2 to 17.9 (chelsea 4.3e-6, coffee 5.7e-6, rocket 4.8e-6, astronaut 3.8e-6), i.e. about 4e-7 relative:
            // float32 rounding in a different order, nothing more. The bound leaves room for other CPUs' kernels.
            Assert.True(scale > 1, $"{Photos[i]}: features suspiciously small ({scale})");
            Assert.True(difference < 1e-4 * scale, $"{Photos[i]}: max difference {difference} against a feature scale of {scale}");
        }
    }

    [Fact]
    public void Every_operation_is_a_named_registered_module_in_execution_order()
    {
        var trunk = fixture.Trunk;
        var leaves = trunk.named_modules().Where(m => !m.module.children().Any()).ToList();

        // Counted from the ONNX file itself: this CNTK ResNet-18 has three blocks in layer4 (torchvision's has
        // two), hence 22 convolutions and batch norms and 19 ReLUs rather than torchvision's 20 and 17.
        using var onnx = OnnxModel.Load(ImageNetTrunk.TrunkPath);
        int Nodes(string op) => onnx.Nodes.Count(n => n.OpType == op);
        Assert.Equal((22, 22, 19, 9), (Nodes("Conv"), Nodes("BatchNormalization"), Nodes("Relu"), Nodes("Add")));
        Assert.Equal(Nodes("Relu"), leaves.Count(m => m.module is ReLU));
        Assert.Equal(Nodes("Conv"), leaves.Count(m => m.module is Conv2d));
        Assert.Equal(Nodes("BatchNormalization"), leaves.Count(m => m.module is BatchNorm2d));
        Assert.Equal(Nodes("Add"), leaves.Count(m => m.module is Elementwise { Operation: ElementwiseOperation.Add }));
        Assert.All(leaves.Where(m => m.module is ReLU), m => Assert.False(((ReLU)m.module).inplace));
        Assert.All(leaves.Where(m => m.module is BatchNorm2d), m => Assert.False(m.module.training));

        // The dotted names are the modules' real paths, unique, and the same list as LayerNames.
        Assert.Equal(trunk.LayerNames.Count, trunk.LayerNames.Distinct().Count());
        Assert.Equal(trunk.LayerNames.Order(), leaves.Select(m => m.name).Order());
        output.WriteLine(string.Join(", ", trunk.LayerNames));
        string[] expected =
        [
            "preprocess.mul", "preprocess.split", "preprocess.concat", "preprocess.sub",
            "conv1", "bn1", "relu", "maxpool",
            "layer1.0.conv1", "layer1.0.bn1", "layer1.0.relu1", "layer1.0.conv2", "layer1.0.bn2", "layer1.0.add", "layer1.0.relu2",
        ];
        Assert.Equal(expected, trunk.LayerNames.Take(expected.Length));
        Assert.Equal(["layer4.2.relu2", "avgpool", "flatten"], trunk.LayerNames.TakeLast(3));
        var layer2 = trunk.LayerNames.Where(n => n.StartsWith("layer2.0.")).ToList();
        Assert.Equal(["layer2.0.conv1", "layer2.0.bn1", "layer2.0.relu1", "layer2.0.conv2", "layer2.0.bn2",
            "layer2.0.downsample.conv", "layer2.0.downsample.bn", "layer2.0.add", "layer2.0.relu2"], layer2);
        Assert.Equal(["layer1", "layer2", "layer3", "layer4"], trunk.named_children().Select(c => c.name).Where(n => n.StartsWith("layer")));

        // The layers carry the file's attributes, including the stem's asymmetric (3, 2) padding as PyTorch's 3.
        var conv1 = (Conv2d)trunk.Layer("conv1");
        Assert.Equal([64L, 3, 7, 7], conv1.weight.shape);
        Assert.Equal([2L, 2], conv1.stride);
        Assert.Equal([3L, 3], conv1.padding!);
        Assert.Equal(2L, ((Conv2d)trunk.Layer("layer3.0.downsample.conv")).stride[0]);
        Assert.Equal("Convolution249", trunk.OnnxNodeName("conv1"));

        // Forward hooks on every layer fire in the order LayerNames gives.
        var fired = new List<string>();
        var removers = new List<Action>();
        foreach (var (name, module) in leaves)
        {
            switch (module)
            {
                case nn.Module<Tensor, Tensor> m: removers.Add(m.register_forward_hook(_ => fired.Add(name)).remove); break;
                case nn.Module<Tensor, Tensor, Tensor> m: removers.Add(m.register_forward_hook(_ => fired.Add(name)).remove); break;
                case nn.Module<Tensor, Tensor[]> m: removers.Add(m.register_forward_hook(_ => fired.Add(name)).remove); break;
                case nn.Module<Tensor[], Tensor> m: removers.Add(m.register_forward_hook(_ => fired.Add(name)).remove); break;
                default: Assert.Fail($"{name} is a {module.GetType().Name}, which cannot be hooked"); break;
            }
        }
        Tensor? captured = null;
        var relu = (ReLU)trunk.Layer("layer4.2.relu2");
        var hook = relu.register_forward_hook((_, _, result) => { captured = result.alias().DetachFromDisposeScope(); return result; });
        try
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            trunk.call(rand(2, 3, 224, 224));
            Assert.Equal(trunk.LayerNames, fired);
            Assert.Equal([2L, 512, 7, 7], captured!.shape);
            Assert.True(captured.min().ToSingle() >= 0);
        }
        finally
        {
            hook.remove();
            foreach (var remove in removers) remove();
            captured?.Dispose();
        }
    }

    [Fact]
    public void Hooks_can_change_a_layers_output_and_layers_can_be_swapped()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var trunk = fixture.Trunk;
        var pixels = PhotoBatch("rocket.jpg");
        var original = trunk.call(pixels);

        // A forward hook's result replaces the layer's output: silencing the last ReLU silences the features.
        var last = (ReLU)trunk.Layer("layer4.2.relu2");
        var hook = last.register_forward_hook((_, _, result) => zeros_like(result));
        try
        {
            Assert.Equal(0, trunk.call(pixels).abs().max().ToSingle());
        }
        finally
        {
            hook.remove();
        }

        // Swapping a ReLU for another module takes effect at once, and putting the old one back restores the features.
        var identity = nn.Identity();
        var previous = trunk.ReplaceLayer("layer4.2.relu2", identity);
        try
        {
            Assert.Same(last, previous);
            Assert.Same(identity, trunk.Layer("layer4.2.relu2"));
            Assert.Contains(trunk.named_modules(), m => m.name == "layer4.2.relu2" && ReferenceEquals(m.module, identity));
            Assert.True((trunk.call(pixels) - original).abs().max().ToSingle() > 1e-3, "without the last ReLU, negative values reach the pooling");
        }
        finally
        {
            trunk.ReplaceLayer("layer4.2.relu2", previous);
            identity.Dispose();
        }
        Assert.Equal(0, (trunk.call(pixels) - original).abs().max().ToSingle());
    }

    [Fact]
    public void Gradients_reach_the_pixels_and_match_finite_differences()
    {
        using var scope = NewDisposeScope();
        var pixels = PhotoBatch("chelsea.png");

        // Float32, as the techniques use it: a non-zero gradient everywhere in the image.
        var x = pixels.clone().requires_grad_(true);
        fixture.Trunk.call(x).sum().backward();
        var gradient32 = x.grad!.clone();
        Assert.True(gradient32.abs().sum().ToDouble() > 0);
        Assert.True(gradient32.ne(0).to_type(ScalarType.Float32).mean().ToDouble() > 0.5, "most pixels should influence the features");

        // A float64 copy, for finite differences free of float32 noise. Its gradient agrees with the float32 one
        // overall (relative L2 difference seen: 0.5%); single pixels may differ more where float32 rounding flips a
        // ReLU or max-pool decision.
        using var trunk64 = ImageNetTrunk.Load();
        trunk64.to(ScalarType.Float64);
        var x64 = pixels.to_type(ScalarType.Float64).requires_grad_(true);
        trunk64.call(x64).sum().backward();
        var gradient64 = x64.grad!;
        var relative = (gradient64 - gradient32.to_type(ScalarType.Float64)).norm().ToDouble() / gradient64.norm().ToDouble();
        output.WriteLine($"float32 vs float64 gradient: relative L2 difference {relative:E2}");
        Assert.True(relative < 0.02, $"float32 and float64 gradients differ by {relative:P1}");

        // Central differences with a step of 1e-6 in pixel units: small enough not to cross a ReLU or max-pool
        // kink (1e-4 does cross one at (1, 40, 180)); seen agreeing with the analytic gradient to about 5e-8.
        const double step = 1e-6;
        (long c, long h, long w)[] probes = [(0, 112, 112), (1, 40, 180), (2, 200, 17), (0, 0, 0), (1, 223, 223)];
        using var noGrad = no_grad();
        foreach (var (c, h, w) in probes)
        {
            var plus = pixels.to_type(ScalarType.Float64);
            var minus = plus.clone();
            plus[0, c, h, w] += step;
            minus[0, c, h, w] -= step;
            var numeric = (trunk64.call(plus).sum() - trunk64.call(minus).sum()).ToDouble() / (2 * step);
            var analytic = gradient64[0, c, h, w].ToDouble();
            output.WriteLine($"pixel ({c}, {h}, {w}): analytic {analytic:G6}, finite difference {numeric:G6}");
            Assert.True(Math.Abs(numeric - analytic) <= 1e-5 * Math.Max(1, Math.Abs(analytic)),
                $"pixel ({c}, {h}, {w}): analytic {analytic}, finite difference {numeric}");
        }
    }

    // ---------------------------------------------------------------- a hand-built ONNX file

    /// <summary>Just enough of a protobuf writer to build ONNX files byte by byte.</summary>
    sealed class ProtoWriter
    {
        readonly MemoryStream bytes = new();

        public byte[] ToArray() => bytes.ToArray();

        public ProtoWriter Varint(ulong value)
        {
            while (value >= 0x80) { bytes.WriteByte((byte)(value | 0x80)); value >>= 7; }
            bytes.WriteByte((byte)value);
            return this;
        }

        public ProtoWriter Tag(int field, int wire) => Varint((ulong)(field << 3 | wire));
        public ProtoWriter Int(int field, long value) => Tag(field, 0).Varint((ulong)value);
        public ProtoWriter Float(int field, float value) { Tag(field, 5); bytes.Write(BitConverter.GetBytes(value)); return this; }
        public ProtoWriter Bytes(int field, byte[] value) { Tag(field, 2).Varint((ulong)value.Length); bytes.Write(value); return this; }
        public ProtoWriter String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));
        public ProtoWriter Message(int field, Action<ProtoWriter> body) { var inner = new ProtoWriter(); body(inner); return Bytes(field, inner.ToArray()); }
        public ProtoWriter PackedInts(int field, params long[] values) { var inner = new ProtoWriter(); foreach (var v in values) inner.Varint((ulong)v); return Bytes(field, inner.ToArray()); }
        public ProtoWriter PackedFloats(int field, params float[] values) => Bytes(field, values.SelectMany(BitConverter.GetBytes).ToArray());
    }

    /// <summary>
    /// ModelProto { ir_version 7, opset 13, graph { one node of <paramref name="op"/> reading x (1 x 1 x 3 x 3),
    /// w (2 x 1 x 2 x 2, as raw_data) and b (2, as float_data), writing y } }, field numbers from onnx.proto.
    /// </summary>
    static byte[] TinyModel(string op = "Conv", long[]? pads = null, long[]? outputShape = null)
    {
        float[] weights = [1, 0, 0, -1, 0.5f, 0.5f, 0.5f, 0.5f];
        static void ValueInfo(ProtoWriter v, string name, long[] dims) =>
            v.String(1, name).Message(2, type => type.Message(1, tensorType => tensorType.Int(1, 1)
                .Message(2, shape => { foreach (var d in dims) shape.Message(1, dim => dim.Int(1, d)); })));
        return new ProtoWriter()
            .Int(1, 7)
            .String(2, "hand")
            .Message(8, opset => opset.Int(2, 13))
            .Message(7, graph => graph
                .Message(1, node =>
                {
                    node.String(1, "x").String(1, "w").String(1, "b").String(2, "y").String(3, "tiny").String(4, op);
                    node.Message(5, a => a.String(1, "kernel_shape").Int(20, 7).PackedInts(8, 2, 2));
                    node.Message(5, a => a.String(1, "strides").Int(20, 7).Int(8, 1).Int(8, 1)); // unpacked repeated field
                    node.Message(5, a => a.String(1, "group").Int(20, 2).Int(3, 1));
                    if (pads is not null)
                        node.Message(5, a => a.String(1, "pads").Int(20, 7).PackedInts(8, pads));
                })
                .String(2, "tiny_graph")
                .Message(5, w => w.PackedInts(1, 2, 1, 2, 2).Int(2, 1).String(8, "w").Bytes(9, weights.SelectMany(BitConverter.GetBytes).ToArray()))
                .Message(5, b => b.Int(1, 2).Int(2, 1).PackedFloats(4, 0.5f, -1f).String(8, "b"))
                .Message(11, v => ValueInfo(v, "x", [1, 1, 3, 3]))
                .Message(12, v => ValueInfo(v, "y", outputShape ?? [1, 2, 2, 2])))
            .ToArray();
    }

    [Fact]
    public void A_hand_built_onnx_file_gives_the_convolution_computed_by_hand()
    {
        using var scope = NewDisposeScope();
        using var model = OnnxModel.Parse(TinyModel());
        Assert.Equal((7L, 13L, "hand"), (model.IrVersion, model.OpsetVersion, model.Producer));
        var node = Assert.Single(model.Nodes);
        Assert.Equal(("Conv", "tiny"), (node.OpType, node.Name));
        Assert.Equal(["x", "w", "b"], node.Inputs);
        Assert.Equal(["y"], node.Outputs);
        Assert.Equal([1L, 1], node.GetInts("strides"));
        Assert.Equal([2L, 2], node.GetInts("kernel_shape"));
        Assert.Equal([1L, 1, 3, 3], model.Inputs.Single().Shape);
        Assert.Equal([1f, 0, 0, -1, 0.5f, 0.5f, 0.5f, 0.5f], model.Initializers["w"].data<float>().ToArray());
        Assert.Equal([0.5f, -1f], model.Initializers["b"].data<float>().ToArray());

        using var module = new OnnxGraphModule(model);
        Assert.Equal(["conv1"], module.LayerNames);
        var x = arange(1f, 10f).reshape(1, 1, 3, 3); // 1 2 3 / 4 5 6 / 7 8 9
        // Channel 0: x[i,j] - x[i+1,j+1] + 0.5 = -4 + 0.5 everywhere.
        // Channel 1: half the 2 x 2 window sum - 1: (1+2+4+5)/2 - 1 = 5, (2+3+5+6)/2 - 1 = 7, 11, 13.
        float[] expected = [-3.5f, -3.5f, -3.5f, -3.5f, 5, 7, 11, 13];
        Assert.Equal(expected, module.call(x).data<float>().ToArray());

        // Asymmetric ONNX padding (one row and column before, none after): a 3 x 3 output, the top-left of what
        // PyTorch's symmetric padding 1 would give. Channel 1 over the zero-padded input, e.g. (0+0+0+1)/2 - 1 = -0.5.
        using var padded = new OnnxGraphModule(OnnxModel.Parse(TinyModel(pads: [1, 1, 0, 0], outputShape: [1, 2, 3, 3])));
        var y = padded.call(x);
        Assert.Equal([1L, 2, 3, 3], y.shape);
        Assert.Equal([-0.5f, 0.5f, 1.5f, 1.5f, 5, 7, 4.5f, 11, 13], y[0, 1].data<float>().ToArray());
        Assert.Equal([-0.5f, -1.5f, -2.5f, -3.5f, -3.5f, -3.5f, -6.5f, -3.5f, -3.5f], y[0, 0].data<float>().ToArray());
    }

    // ---------------------------------------------------------------- errors

    [Fact]
    public void A_truncated_onnx_file_is_invalid_data_naming_the_file()
    {
        var bytes = TinyModel();
        for (var length = 0; length < bytes.Length; length++)
            Assert.Throws<InvalidDataException>(() => OnnxModel.Parse(bytes.AsSpan(0, length)).Dispose());

        var truncated = Path.Combine(Path.GetTempPath(), $"truncated-{Guid.NewGuid():N}.onnx");
        try
        {
            using (var source = File.OpenRead(ImageNetTrunk.TrunkPath))
            using (var target = File.Create(truncated))
            {
                var half = new byte[source.Length / 2];
                source.ReadExactly(half);
                target.Write(half);
            }
            var error = Assert.Throws<InvalidDataException>(() => OnnxGraphModule.Load(truncated).Dispose());
            output.WriteLine(error.Message);
            Assert.Contains(truncated, error.Message);
            Assert.Contains("truncated", error.Message);
        }
        finally
        {
            File.Delete(truncated);
        }
    }

    [Fact]
    public void A_wrong_input_is_an_argument_error_saying_what_was_expected()
    {
        using var scope = NewDisposeScope();
        var trunk = fixture.Trunk;
        var grey = Assert.Throws<ArgumentException>(() => trunk.call(rand(1, 1, 224, 224)));
        output.WriteLine(grey.Message);
        Assert.Contains("expected N x 3 x 224 x 224 pixels in [0,1], got [1, 1, 224, 224]", grey.Message);
        Assert.Contains("greyscale", grey.Message);
        Assert.Contains("unsqueeze(0)", Assert.Throws<ArgumentException>(() => trunk.call(rand(3, 224, 224))).Message);
        Assert.Contains("resize to 224 x 224", Assert.Throws<ArgumentException>(() => trunk.call(rand(1, 3, 200, 300))).Message);
        Assert.Contains("permute(0, 3, 1, 2)", Assert.Throws<ArgumentException>(() => trunk.call(rand(1, 224, 224, 3))).Message);
        Assert.Contains("divide 0..255 pixel values by 255", Assert.Throws<ArgumentException>(() => trunk.call(rand(1, 3, 224, 224) * 255)).Message);
    }

    [Fact]
    public void An_unsupported_operator_or_attribute_is_refused_by_name()
    {
        using var softmax = OnnxModel.Parse(TinyModel(op: "Softmax"));
        var error = Assert.Throws<NotSupportedException>(() => new OnnxGraphModule(softmax));
        output.WriteLine(error.Message);
        Assert.Contains("Softmax", error.Message);
        Assert.Contains("'tiny'", error.Message);

        using var padded = OnnxModel.Parse(TinyModel(pads: [0, 0, 1, 1], outputShape: [1, 2, 3, 3]));
        var padding = Assert.Throws<NotSupportedException>(() => new OnnxGraphModule(padded));
        output.WriteLine(padding.Message);
        Assert.Contains("pads", padding.Message);
        Assert.Contains("Conv", padding.Message);
    }

    [Fact]
    public void The_trunk_loads_quickly_and_runs_one_image_in_well_under_a_second()
    {
        using var scope = NewDisposeScope();
        output.WriteLine($"load: {fixture.LoadSeconds:F2} s");
        Assert.True(fixture.LoadSeconds < 10, $"loading took {fixture.LoadSeconds:F1} s");
        var pixels = PhotoBatch("coffee.png");
        using var noGrad = no_grad();
        fixture.Trunk.call(pixels); // warm-up
        var clock = Stopwatch.StartNew();
        const int runs = 5;
        for (var i = 0; i < runs; i++)
            fixture.Trunk.call(pixels).Dispose();
        var seconds = clock.Elapsed.TotalSeconds / runs;
        output.WriteLine($"forward, one 224 x 224 image: {seconds * 1000:F0} ms");
        Assert.True(seconds < 5);
    }
}
