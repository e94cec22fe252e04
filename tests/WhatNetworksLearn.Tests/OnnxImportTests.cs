using System.Diagnostics;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
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

    public ResNet18Trunk Trunk { get; }
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
    public void Without_gradients_folded_layers_give_the_same_features_and_watched_layers_stay_themselves()
    {
        using var scope = NewDisposeScope();
        var trunk = fixture.Trunk;
        var pixels = PhotoBatch(Photos);
        // With gradients every layer runs as itself; without, each convolution absorbs its batch normalisation.
        var asThemselves = trunk.call(pixels).detach();
        Tensor folded;
        using (no_grad())
            folded = trunk.call(pixels);
        var scale = asThemselves.abs().max().ToSingle();
        var difference = (folded - asThemselves).abs().max().ToSingle();
        output.WriteLine($"features up to {scale:F2}; folded against unfolded: max difference {difference:E2}");
        // Seen: 5.7e-6 on features up to 17.9 (3e-7 relative), float32 rounding in another order, as against ONNX Runtime.
        Assert.True(difference < 1e-5 * scale, $"folded and unfolded features differ by {difference}");

        // A hook on a convolution or a batch normalisation sees that layer's own output, with gradients or without.
        foreach (var name in new[] { "conv1", "bn1", "layer2.0.downsample.conv", "layer3.1.bn2" })
        {
            var layer = (nn.Module<Tensor, Tensor>)VisionModel.NamedLayers(trunk).Single(m => m.Name == name).Module;
            var seen = new List<Tensor>();
            using var hook = new LayerCaptureScope(layer, seen);
            trunk.call(pixels);
            using (no_grad())
                trunk.call(pixels);
            Assert.Equal(2, seen.Count);
            var gap = (seen[0] - seen[1]).abs().max().ToSingle();
            Assert.True(gap <= 1e-5 * seen[0].abs().max().ToSingle(), $"{name}: the hooked layer's output changed by {gap} without gradients");
            foreach (var copy in seen)
                copy.Dispose();
        }
    }

    /// <summary>Keeps copies of a layer's outputs (beyond the forward pass's dispose scopes) while it lives.</summary>
    sealed class LayerCaptureScope(nn.Module<Tensor, Tensor> layer, List<Tensor> seen) : IDisposable
    {
        readonly nn.HookableModule<Func<nn.Module<Tensor, Tensor>, Tensor, Tensor>, Func<nn.Module<Tensor, Tensor>, Tensor, Tensor, Tensor>>.HookRemover remover =
            layer.register_forward_hook((_, _, y) => { seen.Add(y.detach().clone().DetachFromDisposeScope()); return y; });

        public void Dispose() => remover.remove();
    }

    [Fact]
    public void Every_operation_is_a_named_registered_module_in_execution_order()
    {
        var trunk = fixture.Trunk;
        var leaves = VisionModel.NamedLayers(trunk).Where(m => !m.Module.children().Any()).Select(m => (name: m.Name, module: m.Module)).ToList();

        // Counted from the ONNX file itself: this CNTK ResNet-18 has three blocks in layer4 (torchvision's has
        // two), hence 22 convolutions and batch norms and 19 ReLUs rather than torchvision's 20 and 17.
        var onnx = OnnxFile.Load(ImageNetTrunk.TrunkPath);
        int Nodes(string op) => onnx.Nodes.Count(n => n.OpType == op);
        Assert.Equal((22, 22, 19, 9), (Nodes("Conv"), Nodes("BatchNormalization"), Nodes("Relu"), Nodes("Add")));
        Assert.Equal(Nodes("Relu"), leaves.Count(m => m.module is ReLU));
        Assert.Equal(Nodes("Conv"), leaves.Count(m => m.module is Conv2d));
        Assert.Equal(Nodes("BatchNormalization"), leaves.Count(m => m.module is BatchNorm2d));
        Assert.All(leaves.Where(m => m.module is ReLU), m => Assert.False(((ReLU)m.module).inplace));
        Assert.All(leaves.Where(m => m.module is BatchNorm2d), m => Assert.False(m.module.training));

        var names = leaves.Select(m => m.name).ToList();
        output.WriteLine(string.Join(", ", names));
        Assert.Equal(names.Count, names.Distinct().Count());
        string[] expected =
        [
            "preprocess", "conv1", "bn1", "relu", "maxpool",
            "layer1.0.conv1", "layer1.0.bn1", "layer1.0.relu1", "layer1.0.conv2", "layer1.0.bn2", "layer1.0.relu2",
        ];
        Assert.Equal(expected, names.Take(expected.Length));
        Assert.Equal(["layer4.2.relu2", "avgpool", "flatten"], names.TakeLast(3));
        Assert.Equal(["layer2.0.conv1", "layer2.0.bn1", "layer2.0.relu1", "layer2.0.conv2", "layer2.0.bn2",
            "layer2.0.downsample.conv", "layer2.0.downsample.bn", "layer2.0.relu2"], names.Where(n => n.StartsWith("layer2.0.")));
        Assert.Equal(["layer1", "layer2", "layer3", "layer4"], trunk.named_children().Select(c => c.name).Where(n => n.StartsWith("layer")));

        // The layers carry the file's attributes, including the stem's asymmetric (3, 2) padding as PyTorch's 3,
        // and the file's weights: conv1 holds Convolution249's.
        var conv1 = (Conv2d)leaves.Single(m => m.name == "conv1").module;
        Assert.Equal([64L, 3, 7, 7], conv1.weight.shape);
        Assert.Equal([2L, 2], conv1.stride);
        Assert.Equal([3L, 3], conv1.padding!);
        using (var stored = onnx.Tensor(onnx.Node("Convolution249", "Conv").Input[1]))
            Assert.Equal(0f, (stored - conv1.weight).abs().max().ToSingle());
        Assert.Equal(2L, ((Conv2d)leaves.Single(m => m.name == "layer3.0.downsample.conv").module).stride[0]);

        // Forward hooks on every layer fire in the order the layers are listed.
        var fired = new List<string>();
        var removers = new List<Action>();
        foreach (var (name, module) in leaves)
        {
            if (module is not nn.Module<Tensor, Tensor> layer)
                throw new Xunit.Sdk.XunitException($"{name} is a {module.GetType().Name}, which cannot be hooked");
            removers.Add(layer.register_forward_hook(_ => fired.Add(name)).remove);
        }
        Tensor? captured = null;
        var relu = (ReLU)leaves.Single(m => m.name == "layer4.2.relu2").module;
        var hook = relu.register_forward_hook((_, _, result) => { captured = result.alias().DetachFromDisposeScope(); return result; });
        try
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            trunk.call(rand(2, 3, 224, 224));
            Assert.Equal(names, fired);
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
    public void A_hook_can_change_a_layers_output()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var trunk = fixture.Trunk;
        var pixels = PhotoBatch("rocket.jpg");
        var original = trunk.call(pixels);

        // A forward hook's result replaces the layer's output: silencing the last ReLU silences the features,
        // and removing the hook restores them.
        var last = (ReLU)trunk.named_modules().Single(m => m.name == "layer4.2.relu2").module;
        var hook = last.register_forward_hook((_, _, result) => zeros_like(result));
        try
        {
            Assert.Equal(0, trunk.call(pixels).abs().max().ToSingle());
        }
        finally
        {
            hook.remove();
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

    // ---------------------------------------------------------------- reading the file

    [Fact]
    public void Stored_tensors_read_the_same_from_raw_bytes_and_from_float_values()
    {
        float[] values = [1, 0, -0.5f, 2, 3.25f, -7];
        var asFloats = new TensorProto { Name = "w", DataType = (int)TensorProto.Types.DataType.Float };
        asFloats.Dims.Add([2, 3]);
        asFloats.FloatData.Add(values);
        var asBytes = asFloats.Clone();
        asBytes.FloatData.Clear();
        asBytes.RawData = ByteString.CopyFrom(values.SelectMany(BitConverter.GetBytes).ToArray());

        using var fromFloats = OnnxFile.ToTensor(asFloats, "test");
        using var fromBytes = OnnxFile.ToTensor(asBytes, "test");
        Assert.Equal([2L, 3], fromFloats.shape);
        Assert.Equal(values, fromFloats.data<float>().ToArray());
        Assert.Equal(values, fromBytes.data<float>().ToArray());

        var short_ = asFloats.Clone();
        short_.FloatData.RemoveAt(5);
        Assert.Contains("should hold 6 values but holds 5", Assert.Throws<InvalidDataException>(() => OnnxFile.ToTensor(short_, "test")).Message);
        var integers = asFloats.Clone();
        integers.DataType = (int)TensorProto.Types.DataType.Int64;
        Assert.Contains("only float tensors", Assert.Throws<NotSupportedException>(() => OnnxFile.ToTensor(integers, "test")).Message);
        var external = asFloats.Clone();
        external.DataLocation = TensorProto.Types.DataLocation.External;
        Assert.Contains("external file", Assert.Throws<NotSupportedException>(() => OnnxFile.ToTensor(external, "test")).Message);
    }

    [Fact]
    public void A_file_whose_nodes_differ_from_the_table_is_refused_by_node_name()
    {
        var preprocessing = OnnxFile.Load(ImageNetTrunk.PreprocessingPath);
        var model = OnnxFile.Load(ImageNetTrunk.TrunkPath).Model;
        model.Graph.Node.Single(n => n.Name == "Convolution317").Name = "Convolution999";
        var error = Assert.Throws<InvalidDataException>(() => new ResNet18Trunk(preprocessing, new OnnxFile(model, "renamed.onnx")).Dispose());
        output.WriteLine(error.Message);
        Assert.Contains("renamed.onnx", error.Message);
        Assert.Contains("no node 'Convolution317'", error.Message);

        var reordered = preprocessing.Model.Clone();
        var concat = reordered.Graph.Node.Single(n => n.OpType == "Concat");
        (concat.Input[0], concat.Input[2]) = (concat.Input[2], concat.Input[0]);
        Assert.Contains("reverse order", Assert.Throws<InvalidDataException>(() => new ResNet18Trunk(new OnnxFile(reordered, "rgb.onnx"), new OnnxFile(model, "x"))).Message);
    }

    // ---------------------------------------------------------------- errors

    [Fact]
    public void A_truncated_onnx_file_is_invalid_data_naming_the_file()
    {
        var truncated = Path.Combine(Path.GetTempPath(), $"truncated-{Guid.NewGuid():N}.onnx");
        void Truncate(string path, long length)
        {
            using var source = File.OpenRead(path);
            using var target = File.Create(truncated);
            var part = new byte[length];
            source.ReadExactly(part);
            target.Write(part);
        }
        try
        {
            Truncate(ImageNetTrunk.TrunkPath, new FileInfo(ImageNetTrunk.TrunkPath).Length / 2);
            var error = Assert.Throws<InvalidDataException>(() => ResNet18Trunk.Load(ImageNetTrunk.PreprocessingPath, truncated).Dispose());
            output.WriteLine(error.Message);
            Assert.Contains(truncated, error.Message);
            Assert.Contains("truncated", error.Message);

            // The small preprocessing file, cut anywhere from nothing to one byte short.
            var length = new FileInfo(ImageNetTrunk.PreprocessingPath).Length;
            foreach (var cut in new[] { 0, 1, 16, 1000, length / 2, length - 1 })
            {
                Truncate(ImageNetTrunk.PreprocessingPath, cut);
                error = Assert.Throws<InvalidDataException>(() => ResNet18Trunk.Load(truncated, ImageNetTrunk.TrunkPath).Dispose());
                Assert.Contains("truncated", error.Message);
            }
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
        Assert.Contains("expects N x 3 x 224 x 224 pixels in [0,1], got [1, 1, 224, 224]", grey.Message);
        Assert.Contains("Images.Prepare", grey.Message);
        Assert.Contains("got [3, 224, 224]", Assert.Throws<ArgumentException>(() => trunk.call(rand(3, 224, 224))).Message);
        Assert.Contains("got [1, 3, 200, 300]", Assert.Throws<ArgumentException>(() => trunk.call(rand(1, 3, 200, 300))).Message);
        Assert.Contains("divide 0..255 pixel values by 255", Assert.Throws<ArgumentException>(() => trunk.call(rand(1, 3, 224, 224) * 255)).Message);
    }
}
