using System.Reflection;
using Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Models.Onnx;

/// <summary>
/// The ImageNet ResNet-18 trunk of ML.NET's ONNX package (see <see cref="ImageNetTrunk"/>) as TorchSharp layers under
/// PyTorch's names, so that forward hooks and ReLU rules reach every layer and gradients flow down to the pixels:
/// preprocess, conv1, bn1, relu, maxpool, layer1.0.conv1 … layer4.2.relu2, avgpool, flatten (the order they run in).
/// </summary>
/// <remarks>
/// <para>The layers are built from a fixed table of the file's node names (<see cref="Blocks"/>), not by guessing
/// the graph's structure: the kit imports this one network. Each layer's sizes, strides and padding come from its
/// node; a file whose nodes differ from the table is refused with an <see cref="InvalidDataException"/>.</para>
/// <para>Each block is torchvision's BasicBlock: conv1, bn1, relu1, conv2, bn2, the shortcut (downsample.conv and
/// downsample.bn where the block halves the size), the sum, relu2. Unlike torchvision's, the ReLU after the sum is a
/// module of its own, so rules for ReLUs reach it; and layer4 has three blocks, as CNTK's export has.</para>
/// </remarks>
public sealed class ResNet18Trunk : nn.Module<Tensor, Tensor>
{
    /// <summary>The side of the square images the trunk takes (its mean image has this size).</summary>
    public const int InputSize = 224;

    /// <summary>The convolutions of ResNet18.onnx (CNTK 2.6's node names) by the block they belong to; each is read by its batch normalisation.</summary>
    internal static readonly (string Block, string Conv1, string Conv2, string? Downsample)[] Blocks =
    [
        ("layer1.0", "Convolution257", "Convolution263", null),
        ("layer1.1", "Convolution271", "Convolution277", null),
        ("layer2.0", "Convolution285", "Convolution291", "Convolution295"),
        ("layer2.1", "Convolution303", "Convolution309", null),
        ("layer3.0", "Convolution317", "Convolution323", "Convolution327"),
        ("layer3.1", "Convolution335", "Convolution341", null),
        ("layer4.0", "Convolution349", "Convolution355", "Convolution359"),
        ("layer4.1", "Convolution367", "Convolution373", null),
        ("layer4.2", "Convolution381", "Convolution387", null),
    ];

    const string StemConv = "Convolution249", StemPool = "Pooling255", FinalPool = "Pooling395";

    readonly Preprocess preprocess;
    readonly Conv2d conv1;
    readonly BatchNorm2d bn1;
    readonly ConvBatchNorm stem;
    readonly ReLU relu = nn.ReLU();
    readonly MaxPool2d maxpool;
    readonly List<Sequential> stages = [];
    readonly AvgPool2d avgpool;
    readonly Flatten flatten = nn.Flatten(1);

    /// <summary>
    /// Builds the trunk from the two files of the package: <paramref name="preprocessing"/> (ResNetPreprocess.onnx:
    /// RGB to BGR, minus a mean image) and <paramref name="trunk"/> (ResNet18.onnx), copying their weights.
    /// </summary>
    public ResNet18Trunk(OnnxFile preprocessing, OnnxFile trunk) : base(nameof(ResNet18Trunk))
    {
        using var noGrad = no_grad();
        var convolutions = trunk.Nodes.Count(n => n.OpType == "Conv");
        if (convolutions != 1 + Blocks.Sum(b => b.Downsample is null ? 2 : 3))
            throw trunk.NotAsExpected($"it has {convolutions} convolutions, not the 22 of the kit's ResNet-18");
        preprocess = new Preprocess(preprocessing);
        (conv1, bn1) = (Conv(trunk, trunk.Node(StemConv, "Conv")), BatchNorm(trunk, StemConv));
        stem = new ConvBatchNorm(conv1, bn1);
        maxpool = (MaxPool2d)Pool(trunk.Node(StemPool, "MaxPool"));
        avgpool = (AvgPool2d)Pool(trunk.Node(FinalPool, "AveragePool"));
        register_module("preprocess", preprocess);
        register_module("conv1", conv1);
        register_module("bn1", bn1);
        register_module("relu", relu);
        register_module("maxpool", maxpool);
        foreach (var stage in Blocks.GroupBy(b => b.Block.Split('.')[0]))
        {
            var blocks = stage.Select(b => (b.Block.Split('.')[1], (nn.Module<Tensor, Tensor>)new BasicBlock(trunk, b.Conv1, b.Conv2, b.Downsample)));
            var sequential = nn.Sequential(blocks.ToArray());
            stages.Add(sequential);
            register_module(stage.Key, sequential);
        }
        register_module("avgpool", avgpool);
        register_module("flatten", flatten);
        eval();
    }

    /// <summary>Reads the two files and builds the trunk.</summary>
    public static ResNet18Trunk Load(string preprocessingPath, string trunkPath) =>
        new(OnnxFile.Load(preprocessingPath), OnnxFile.Load(trunkPath));

    /// <summary>
    /// Pixels in [0,1], N x 3 x 224 x 224 RGB, to N x 512 features. Without gradients, each convolution and the batch
    /// normalisation after it run as one convolution where no hook watches them (<see cref="ConvBatchNorm"/>).
    /// </summary>
    public override Tensor forward(Tensor pixels)
    {
        using var scope = NewDisposeScope();
        var x = maxpool.call(stem.RunThenRelu(preprocess.call(pixels), relu, training));
        foreach (var stage in stages)
            x = stage.call(x);
        return flatten.call(avgpool.call(x)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// A convolution as its node describes it. PyTorch pads both sides alike; CNTK pads the strided layers one row
    /// and column less at the end (pads [3, 3, 2, 2] and [1, 1, 0, 0]). For the 224 x 224 input the trunk takes,
    /// both give the same output size, so every window reads the same values: the result is exactly ONNX's.
    /// </summary>
    internal static Conv2d Conv(OnnxFile file, NodeProto node)
    {
        using var weight = file.Tensor(node.Input[1]);
        var (stride, padding) = (OnnxFile.Ints(node, "strides", 1, 1), StartPadding(file, node));
        var conv = nn.Conv2d(weight.shape[1], weight.shape[0], (weight.shape[2], weight.shape[3]), stride: (stride[0], stride[1]),
            padding: padding, bias: node.Input.Count > 2);
        conv.weight.copy_(weight);
        if (node.Input.Count > 2)
        {
            using var bias = file.Tensor(node.Input[2]);
            conv.bias!.copy_(bias);
        }
        return conv;
    }

    /// <summary>The batch normalisation that reads a convolution's output, with the file's statistics (evaluation mode).</summary>
    internal static BatchNorm2d BatchNorm(OnnxFile file, string convolution)
    {
        var node = file.ReaderOf(file.Node(convolution, "Conv").Output[0], "BatchNormalization");
        using var scale = file.Tensor(node.Input[1]);
        using var shift = file.Tensor(node.Input[2]);
        using var mean = file.Tensor(node.Input[3]);
        using var variance = file.Tensor(node.Input[4]);
        var bn = nn.BatchNorm2d(scale.shape[0], eps: OnnxFile.Float(node, "epsilon", 1e-5f));
        bn.weight.copy_(scale);
        bn.bias!.copy_(shift);
        bn.running_mean!.copy_(mean);
        bn.running_var!.copy_(variance);
        return bn;
    }

    static nn.Module<Tensor, Tensor> Pool(NodeProto node)
    {
        var kernel = OnnxFile.Ints(node, "kernel_shape");
        var stride = OnnxFile.Ints(node, "strides", 1, 1);
        var padding = OnnxFile.Ints(node, "pads", 0, 0, 0, 0);
        return node.OpType == "MaxPool"
            ? nn.MaxPool2d(kernel, stride, [padding[0], padding[1]])
            : nn.AvgPool2d(kernel, stride, [padding[0], padding[1]], count_include_pad: false);
    }

    static (long, long) StartPadding(OnnxFile file, NodeProto node) =>
        OnnxFile.Ints(node, "pads", 0, 0, 0, 0) is [var top, var left, var bottom, var right] && bottom <= top && right <= left
            ? (top, left)
            : throw file.NotAsExpected($"node '{node.Name}' pads [{string.Join(", ", OnnxFile.Ints(node, "pads"))}], more at the end than at the start");

    /// <summary>
    /// What ML.NET does before the trunk, as one layer: pixels in [0,1] to the 0..255 values its pixel extraction
    /// gives, RGB to BGR, minus the package's 3 x 224 x 224 mean image (ResNetPreprocess.onnx).
    /// Checks the input's size and range first, so that a wrong input is a clear .NET error.
    /// </summary>
    sealed class Preprocess : nn.Module<Tensor, Tensor>
    {
#pragma warning disable IDE0044 // Reassigned by TorchSharp when the module moves to another device or dtype.
        Tensor meanImage;
#pragma warning restore IDE0044

        public Preprocess(OnnxFile file) : base(nameof(Preprocess))
        {
            if (file.Nodes is not [{ OpType: "Split" } split, { OpType: "Concat" } concat, { OpType: "Sub" } subtract]
                || !concat.Input.SequenceEqual(split.Output.Reverse()) || subtract.Input[0] != concat.Output[0])
                throw file.NotAsExpected("its graph is not Split, Concat in reverse order, Sub");
            meanImage = file.Tensor(subtract.Input[1]).DetachFromDisposeScope();
            RegisterComponents();
        }

        public override Tensor forward(Tensor pixels)
        {
            var expected = $"N x 3 x {InputSize} x {InputSize} pixels in [0,1]";
            if (pixels.dim() != 4 || pixels.shape[1] != 3 || pixels.shape[2] != InputSize || pixels.shape[3] != InputSize)
                throw new ArgumentException($"The ResNet-18 trunk expects {expected}, got [{string.Join(", ", pixels.shape)}]. " +
                    "Images.Prepare(image, model) fits an image to it.", nameof(pixels));
            using (no_grad())
            using (var high = pixels.max())
                if (high.ToDouble() > 2)
                    throw new ArgumentException($"The ResNet-18 trunk expects {expected}, got values up to {high.ToDouble():G4}: divide 0..255 pixel values by 255 first.", nameof(pixels));
            return (pixels * 255f).flip(1) - meanImage;
        }
    }
}

/// <summary>One residual block of <see cref="ResNet18Trunk"/>: two 3 x 3 convolutions with batch normalisation, and a shortcut.</summary>
public sealed class BasicBlock : nn.Module<Tensor, Tensor>
{
    readonly Conv2d conv1, conv2;
    readonly BatchNorm2d bn1, bn2;
    readonly ReLU relu1 = nn.ReLU(), relu2 = nn.ReLU();
    readonly Sequential? downsample;
    readonly ConvBatchNorm first, second;
    readonly ConvBatchNorm? shortcut;

    internal BasicBlock(OnnxFile file, string conv1Node, string conv2Node, string? downsampleNode) : base(nameof(BasicBlock))
    {
        (conv1, bn1) = (ResNet18Trunk.Conv(file, file.Node(conv1Node, "Conv")), ResNet18Trunk.BatchNorm(file, conv1Node));
        (conv2, bn2) = (ResNet18Trunk.Conv(file, file.Node(conv2Node, "Conv")), ResNet18Trunk.BatchNorm(file, conv2Node));
        register_module("conv1", conv1);
        register_module("bn1", bn1);
        register_module("relu1", relu1);
        register_module("conv2", conv2);
        register_module("bn2", bn2);
        (first, second) = (new ConvBatchNorm(conv1, bn1), new ConvBatchNorm(conv2, bn2));
        if (downsampleNode is not null)
        {
            var (conv, bn) = (ResNet18Trunk.Conv(file, file.Node(downsampleNode, "Conv")), ResNet18Trunk.BatchNorm(file, downsampleNode));
            downsample = nn.Sequential(("conv", conv), ("bn", bn));
            shortcut = new ConvBatchNorm(conv, bn);
            register_module("downsample", downsample);
        }
        register_module("relu2", relu2);
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var main = second.Run(first.RunThenRelu(x, relu1, training), training, out _);
        var sum = main + (downsample is null ? x : ConvBatchNorm.Hooked(downsample) ? downsample.call(x) : shortcut!.Run(x, training, out _));
        // The sum is a new tensor no layer has seen: without gradients, the ReLU may overwrite it.
        return (!is_grad_enabled() && !ConvBatchNorm.Hooked(relu2) ? sum.relu_() : relu2.call(sum)).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// A convolution and the batch normalisation after it, bn(conv(x)). In a pass without gradients, in evaluation mode,
/// with no hook on either layer, they run as one convolution whose weights and bias absorb the normalisation (in
/// evaluation mode it is a fixed scale and shift per channel): the same values within float rounding, one pass over
/// the activations fewer. Otherwise the two layers run as themselves, so hooks, rules and gradients see them.
/// </summary>
/// <remarks>
/// The folded weights are made at the first pass that can use them and kept for the layers' dtype and device. A pass
/// with gradients or in training mode drops them (training changes the weights only after such passes); a change made
/// to the weights in place without gradients is not seen until then.
/// </remarks>
internal sealed class ConvBatchNorm(Conv2d conv, BatchNorm2d bn)
{
    // TorchSharp keeps a layer's hooks in protected dictionaries; a layer whose hooks cannot be seen is never folded.
    static readonly FieldInfo[] HookFields = typeof(nn.Module<Tensor, Tensor>).BaseType!
        .GetFields(BindingFlags.Instance | BindingFlags.NonPublic).Where(f => f.Name.EndsWith("hooks", StringComparison.Ordinal)).ToArray();

    Tensor? weight, bias;

    /// <summary>Whether a forward hook or pre-hook is registered on <paramref name="layer"/> (true if that cannot be told).</summary>
    internal static bool Hooked(nn.Module layer) =>
        HookFields.Length != 4 || HookFields.Any(f => f.GetValue(layer) is not System.Collections.ICollection { Count: 0 });

    /// <summary>bn(conv(x)), folded when it may be (see the class summary); <paramref name="folded"/> says whether it was.</summary>
    public Tensor Run(Tensor x, bool training, out bool folded)
    {
        folded = !(training || is_grad_enabled() || conv.training || bn.training || Hooked(conv) || Hooked(bn));
        if (!folded)
        {
            Forget();
            return bn.call(conv.call(x));
        }
        if (weight is null || weight.dtype != conv.weight.dtype || weight.device_type != conv.weight.device_type || weight.device_index != conv.weight.device_index)
            Fold();
        return nn.functional.conv2d(x, weight!, bias, conv.stride, conv.padding, conv.dilation, conv.groups);
    }

    /// <summary>relu(bn(conv(x))); when folded and no hook watches the ReLU, in place on the folded result, which no layer has seen.</summary>
    public Tensor RunThenRelu(Tensor x, ReLU relu, bool training)
    {
        var y = Run(x, training, out var folded);
        return folded && !Hooked(relu) ? y.relu_() : relu.call(y);
    }

    void Fold()
    {
        Forget();
        using var scope = NewDisposeScope();
        var scale = bn.weight! / (bn.running_var! + bn.eps).sqrt();
        var shift = bn.bias! - bn.running_mean! * scale;
        if (conv.bias is not null)
            shift += conv.bias * scale;
        weight = (conv.weight * scale.reshape(-1, 1, 1, 1)).MoveToOuterDisposeScope().DetachFromDisposeScope();
        bias = shift.MoveToOuterDisposeScope().DetachFromDisposeScope();
    }

    void Forget()
    {
        weight?.Dispose();
        bias?.Dispose();
        (weight, bias) = (null, null);
    }
}
