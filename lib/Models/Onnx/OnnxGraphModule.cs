using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Models.Onnx;

/// <summary>
/// Runs an imported ONNX graph in TorchSharp, with every operation a registered submodule: nn.Conv2d,
/// nn.BatchNorm2d, nn.ReLU, nn.MaxPool2d, nn.AvgPool2d, and the kit's <see cref="Elementwise"/>,
/// <see cref="ElementwiseWithConstant"/>, <see cref="Split"/> and <see cref="Concat"/> modules. That is what
/// the lecture's techniques need: forward hooks and custom ReLU backward rules reach every layer, and
/// gradients flow down to the input.
/// </summary>
/// <remarks>
/// <para>Layers get PyTorch ResNet names derived from the graph's structure (conv1, bn1, relu, maxpool,
/// layer1.0.conv1 … layer1.0.add, layer1.0.relu2, layer2.0.downsample.conv, …, avgpool); nodes before the first
/// convolution are named preprocess.&lt;op&gt;. The dotted names are real: the layers sit in nested containers,
/// so <c>named_modules()</c> and <c>state_dict()</c> use them; <see cref="Layer"/> finds a layer by its name and
/// <see cref="ReplaceLayer"/> swaps one (say, a ReLU for one with another backward rule). A graph that does not
/// look like a ResNet gets names by operator and count (conv1, relu3, …). <see cref="LayerNames"/> lists them in
/// execution order.</para>
/// <para>ONNX allows asymmetric padding, PyTorch layers do not. When the padding at the end of an axis is
/// smaller than at its start (CNTK's exports pad 3 before and 2 after the first 7 x 7 convolution), the layer
/// pads the start amount on both sides and the graph drops the surplus output rows and columns, if any, after
/// the layer: for the input sizes these exports are made for (224 x 224) there is no surplus, so the result is
/// exactly ONNX's. Other asymmetric paddings are refused with a <see cref="NotSupportedException"/>.</para>
/// <para>Like nn.Sequential, the forward pass disposes each intermediate result once no later operation needs
/// it. A forward hook that keeps an activation must keep <c>output.alias()</c> (still attached to the
/// autograd graph) or <c>output.detach().clone()</c>.</para>
/// </remarks>
public sealed class OnnxGraphModule : nn.Module<Tensor, Tensor>
{
    /// <summary>The operators this module can import.</summary>
    public static IReadOnlyList<string> SupportedOperators { get; } =
        ["Conv", "BatchNormalization", "Relu", "MaxPool", "AveragePool", "GlobalAveragePool", "Add", "Sub", "Mul", "Div", "Flatten", "Split", "Concat"];

    readonly List<Step> steps = [];
    readonly Dictionary<string, nn.Module> layers = [];
    readonly Dictionary<string, LayerGroup> groups = [];
    readonly Dictionary<string, string> onnxNodeNames = [];
    readonly string inputName;
    readonly string outputName;
    readonly IReadOnlyList<long?>? declaredInputShape;
    readonly string inputDescription;

    /// <summary>
    /// Builds the module from a parsed graph, copying its weights (the model can be disposed afterwards).
    /// <paramref name="inputDescription"/> completes input error messages, e.g. "pixels in [0,1]".
    /// An operator or attribute the module cannot reproduce exactly is a <see cref="NotSupportedException"/>
    /// that names the node.
    /// </summary>
    public OnnxGraphModule(OnnxModel model, string? inputDescription = null) : base(nameof(OnnxGraphModule))
    {
        if (model.Inputs.Count != 1 || model.Outputs.Count != 1)
            throw new NotSupportedException(
                $"{model.Source}: the graph has {model.Inputs.Count} inputs and {model.Outputs.Count} outputs; OnnxGraphModule runs graphs with one of each.");
        Source = model.Source;
        inputName = model.Inputs[0].Name;
        outputName = model.Outputs[0].Name;
        declaredInputShape = model.Inputs[0].Shape;
        this.inputDescription = inputDescription ?? "";

        var (order, names) = LayerNaming.Assign(model);
        try
        {
            using (torch.no_grad())
                foreach (var index in order)
                    steps.Add(Build(model, model.Nodes[index], names[index]));
            LayerNames = steps.Select(s => s.Name).ToList();
            CheckUnproducedOutputs();
        }
        catch (Exception e) when (e is NotSupportedException or InvalidDataException)
        {
            Dispose(); // the layers built so far
            throw e is NotSupportedException
                ? new NotSupportedException($"{model.Source}: {e.Message}", e)
                : new InvalidDataException($"{model.Source}: {e.Message}", e);
        }
        PlanReleases();
        eval();
    }

    /// <summary>Reads an .onnx file and builds the module from it.</summary>
    public static OnnxGraphModule Load(string path, string? inputDescription = null)
    {
        using var model = OnnxModel.Load(path);
        return new OnnxGraphModule(model, inputDescription);
    }

    /// <summary>Where the graph came from, for messages.</summary>
    public string Source { get; }

    /// <summary>The layers' names in execution order, e.g. "conv1", "layer1.0.relu2", "avgpool".</summary>
    public IReadOnlyList<string> LayerNames { get; }

    /// <summary>
    /// The range the input's values are meant to lie in, e.g. (0, 1) for pixels; null (the default) checks nothing.
    /// When set, an input that leaves the range by more than the range's own width (for [0,1]: anything above 2 or
    /// below -1, such as 0..255 pixels) is an <see cref="ArgumentException"/>; smaller excursions, as gradient-based
    /// techniques produce, pass.
    /// </summary>
    public (double Min, double Max)? InputRange { get; set; }

    /// <summary>The layer with that name (see <see cref="LayerNames"/>), to hook or inspect.</summary>
    public nn.Module Layer(string name) =>
        layers.TryGetValue(name, out var layer) ? layer
            : throw new KeyNotFoundException($"No layer named '{name}'. The layers are: {string.Join(", ", LayerNames)}.");

    /// <summary>
    /// Puts <paramref name="replacement"/> in the place of a single-tensor layer (a ReLU, a convolution, a pooling
    /// layer…) under the same name, e.g. a ReLU with another backward rule; returns the layer it replaced (not
    /// disposed, so that it can be put back). The replacement must take and return tensors of the same shapes.
    /// </summary>
    public nn.Module<Tensor, Tensor> ReplaceLayer(string name, nn.Module<Tensor, Tensor> replacement)
    {
        var step = steps.FirstOrDefault(s => s.Name == name)
            ?? throw new KeyNotFoundException($"No layer named '{name}'. The layers are: {string.Join(", ", LayerNames)}.");
        if (step.Module is not nn.Module<Tensor, Tensor> previous)
            throw new ArgumentException($"Layer '{name}' is a {step.Module.GetType().Name}, not a single-tensor layer; it cannot be replaced.", nameof(name));
        var cut = name.LastIndexOf('.');
        nn.Module parent = cut < 0 ? this : groups[name[..cut]];
        var leaf = name[(cut + 1)..];
        parent.register_module(leaf, null!); // unregisters the old layer
        parent.register_module(leaf, replacement);
        step.Module = replacement;
        layers[name] = replacement;
        if (!training) replacement.eval();
        return previous;
    }

    /// <summary>The name of the ONNX node a layer was made from (e.g. "Convolution249" for "conv1").</summary>
    public string OnnxNodeName(string layerName) =>
        onnxNodeNames.TryGetValue(layerName, out var node) ? node
            : throw new KeyNotFoundException($"No layer named '{layerName}'.");

    /// <summary>Runs the graph. The first dimension of the input is the batch, whatever size the file declares.</summary>
    public override Tensor forward(Tensor input)
    {
        CheckInput(input);
        var values = new Dictionary<string, Tensor> { [inputName] = input };
        foreach (var step in steps)
        {
            var results = step.Run(step, step.Inputs.Select(name => values[name]).ToArray());
            for (var k = 0; k < step.Outputs.Length; k++)
                if (step.Outputs[k].Length > 0)
                    values[step.Outputs[k]] = results[k];
            foreach (var name in step.ReleaseAfter)
            {
                var tensor = values[name];
                values.Remove(name);
                if (!ReferenceEquals(tensor, input) && !values.Values.Any(v => ReferenceEquals(v, tensor)))
                    tensor.Dispose();
            }
        }
        return values[outputName];
    }

    /// <summary>Wrong rank, channel count or size is an <see cref="ArgumentException"/> that says what was expected, what came, and how to fix it.</summary>
    void CheckInput(Tensor input)
    {
        var got = $"[{string.Join(", ", input.shape)}]";
        if (declaredInputShape is null || declaredInputShape.Count == 0)
            return;
        var expectedDims = declaredInputShape.Skip(1).Select(d => d?.ToString() ?? "?");
        var expected = $"N x {string.Join(" x ", expectedDims)}{(inputDescription.Length > 0 ? " " + inputDescription : "")}";
        if (!torch.is_floating_point(input))
            throw new ArgumentException($"{Source}: expected a floating-point tensor of shape {expected}, got {input.dtype} {got}.", nameof(input));
        string? hint = null;
        var rank = declaredInputShape.Count;
        if (input.dim() != rank)
            hint = input.dim() == rank - 1 ? "add the batch dimension first (x.unsqueeze(0))" : null;
        else
        {
            for (var d = 1; d < rank; d++)
                if (declaredInputShape[d] is long want && input.shape[d] != want)
                {
                    hint = "";
                    break;
                }
            if (hint is null)
            {
                CheckRange(input, expected);
                return;
            }
            if (rank == 4 && declaredInputShape[1] is long channels)
            {
                var (c, h, w) = (input.shape[1], input.shape[2], input.shape[3]);
                if (input.shape[3] == channels && c != channels)
                    hint = "the channels must come second (N x C x H x W): x.permute(0, 3, 1, 2) converts N x H x W x C";
                else if (c == 1 && channels == 3)
                    hint = "convert greyscale images to RGB first (x.expand(-1, 3, -1, -1))";
                else if (c == 4 && channels == 3)
                    hint = "drop the alpha channel first (x.narrow(1, 0, 3))";
                else if (c == channels && declaredInputShape[2] is long wantH && declaredInputShape[3] is long wantW && (h != wantH || w != wantW))
                    hint = $"resize to {wantH} x {wantW} first (torch.nn.functional.interpolate)";
            }
        }
        throw new ArgumentException($"{Source}: expected {expected}, got {got}{(string.IsNullOrEmpty(hint) ? "" : ": " + hint)}.", nameof(input));
    }

    void CheckRange(Tensor input, string expected)
    {
        if (InputRange is not (double min, double max) || input.numel() == 0)
            return;
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var (low, high) = (input.min().ToDouble(), input.max().ToDouble());
        var slack = max - min;
        if (low >= min - slack && high <= max + slack)
            return;
        var hint = high > 10 * max && min >= 0 ? ": divide 0..255 pixel values by 255 first" : "";
        throw new ArgumentException($"{Source}: expected {expected}, got values from {low:G4} to {high:G4}{hint}.", nameof(input));
    }

    /// <summary>Refuses graphs that read an optional output this module does not compute (pooling indices, batch statistics).</summary>
    void CheckUnproducedOutputs()
    {
        var read = new HashSet<string>(steps.SelectMany(s => s.Inputs)) { outputName };
        foreach (var step in steps)
            foreach (var extra in step.Node.Outputs.Skip(step.Outputs.Length))
                if (read.Contains(extra))
                    throw Unsupported(step.Node, $"has its optional output '{extra}' read by the graph, which OnnxGraphModule does not compute");
    }

    /// <summary>Works out, for each step, which values no later step reads, so that forward can free them.</summary>
    void PlanReleases()
    {
        var lastUse = new Dictionary<string, int>();
        for (var i = 0; i < steps.Count; i++)
        {
            foreach (var name in steps[i].Inputs) lastUse[name] = i;
            foreach (var name in steps[i].Outputs)
                if (name.Length > 0 && !lastUse.ContainsKey(name))
                    lastUse[name] = i; // produced but never read: free it right away
        }
        lastUse.Remove(inputName);
        lastUse.Remove(outputName);
        for (var i = 0; i < steps.Count; i++)
            steps[i].ReleaseAfter = lastUse.Where(kv => kv.Value == i).Select(kv => kv.Key).Distinct().ToArray();
    }

    /// <summary>Registers a layer under its dotted name, creating the containers (layer1, layer1.0, …) on the way.</summary>
    void RegisterLayer(string path, string onnxNode, nn.Module module)
    {
        var parts = path.Split('.');
        nn.Module parent = this;
        var prefix = "";
        for (var i = 0; i < parts.Length - 1; i++)
        {
            prefix = prefix.Length == 0 ? parts[i] : $"{prefix}.{parts[i]}";
            if (!groups.TryGetValue(prefix, out var group))
            {
                group = new LayerGroup();
                parent.register_module(parts[i], group);
                groups[prefix] = group;
            }
            parent = group;
        }
        parent.register_module(parts[^1], module);
        layers[path] = module;
        onnxNodeNames[path] = onnxNode;
    }

    // ---------------------------------------------------------------- building the steps

    Step Build(OnnxModel model, OnnxNode node, string name)
    {
        if (node.Domain is not ("" or "ai.onnx"))
            throw Unsupported(node, $"comes from the operator set '{node.Domain}'; only standard ONNX operators are imported");
        var runtimeInputs = node.Inputs.Where(i => i.Length > 0 && !model.Initializers.ContainsKey(i)).ToArray();
        Step Make(Func<Step, Tensor[], Tensor[]> run, nn.Module module, string[]? inputs = null)
        {
            RegisterLayer(name, node.Name, module);
            // Every operation computes one output except Split; extra ONNX outputs are optional ones nobody may read.
            var produced = node.OpType == "Split" ? node.Outputs.Count : 1;
            return new Step(name, node, module, inputs ?? runtimeInputs, node.Outputs.Take(produced).ToArray(), run);
        }
        switch (node.OpType)
        {
            case "Conv": return BuildConv(model, node, runtimeInputs, Make);
            case "BatchNormalization": return BuildBatchNorm(model, node, runtimeInputs, Make);
            case "Relu":
                {
                    CheckAttributes(node, "consumed_inputs");
                    RequireOutputs(node, 1);
                    var relu = nn.ReLU(inplace: false);
                    return Make((s, x) => [Unary(s, x[0])], relu, [Single(node, runtimeInputs)]);
                }
            case "MaxPool":
            case "AveragePool": return BuildPool(node, runtimeInputs, Make);
            case "GlobalAveragePool":
                {
                    CheckAttributes(node);
                    var pool = nn.AdaptiveAvgPool2d(1);
                    return Make((s, x) => [Unary(s, x[0])], pool, [Single(node, runtimeInputs)]);
                }
            case "Flatten":
                {
                    CheckAttributes(node, "axis");
                    var axis = node.GetInt("axis", 1);
                    if (axis != 1)
                        throw Unsupported(node, $"flattens from axis {axis}; only axis 1 (keep the batch dimension) is imported");
                    var flatten = nn.Flatten(1, -1);
                    return Make((s, x) => [Unary(s, x[0])], flatten, [Single(node, runtimeInputs)]);
                }
            case "Add":
            case "Sub":
            case "Mul":
            case "Div": return BuildElementwise(model, node, runtimeInputs, Make);
            case "Split":
                {
                    CheckAttributes(node, "axis", "split");
                    var axis = node.GetInt("axis", 0);
                    var sizes = node.GetInts("split")?.ToArray();
                    if (sizes is null && node.Inputs.Count > 1 && node.Inputs[1].Length > 0)
                        sizes = model.Initializers.TryGetValue(node.Inputs[1], out var s) ? s.data<long>().ToArray()
                            : throw Unsupported(node, "takes its split sizes from a computed value; only stored sizes are imported");
                    if (sizes is not null && sizes.Length != node.Outputs.Count)
                        throw new InvalidDataException($"{node.Describe()} splits into {sizes.Length} parts but has {node.Outputs.Count} outputs.");
                    var split = new Split(axis, sizes, node.Outputs.Count);
                    return Make((_, x) => split.call(x[0]), split, [runtimeInputs.Length > 0 ? runtimeInputs[0] : throw Unsupported(node, "splits a stored constant")]);
                }
            case "Concat":
                {
                    CheckAttributes(node, "axis");
                    RequireOutputs(node, 1);
                    if (!node.Attributes.ContainsKey("axis"))
                        throw new InvalidDataException($"{node.Describe()} has no axis attribute.");
                    if (runtimeInputs.Length != node.Inputs.Count)
                        throw Unsupported(node, "concatenates a stored constant with computed values");
                    var concat = new Concat(node.GetInt("axis", 0));
                    return Make((_, x) => [concat.call(x)], concat);
                }
            default:
                throw Unsupported(node, $"is not an operator OnnxGraphModule imports (it imports {string.Join(", ", SupportedOperators)})");
        }
    }

    Step BuildConv(OnnxModel model, OnnxNode node, string[] runtimeInputs, Func<Func<Step, Tensor[], Tensor[]>, nn.Module, string[]?, Step> make)
    {
        CheckAttributes(node, "auto_pad", "dilations", "group", "kernel_shape", "pads", "strides");
        RequireOutputs(node, 1);
        var weight = Stored(model, node, 1, "weight");
        var bias = node.Inputs.Count > 2 && node.Inputs[2].Length > 0 ? Stored(model, node, 2, "bias") : null;
        if (weight.dim() != 4)
            throw Unsupported(node, $"has a {weight.dim() - 2}-D kernel; only 2-D convolutions are imported");
        var kernel = (weight.shape[2], weight.shape[3]);
        if (node.GetInts("kernel_shape") is { } ks && (ks.Count != 2 || ks[0] != kernel.Item1 || ks[1] != kernel.Item2))
            throw new InvalidDataException($"{node.Describe()} declares kernel_shape [{string.Join(", ", ks)}] but its weights are {kernel.Item1} x {kernel.Item2}.");
        var groups = node.GetInt("group", 1);
        var stride = Pair(node, "strides", 1);
        var dilation = Pair(node, "dilations", 1);
        var (padding, padEnd) = Padding(node);
        var conv = nn.Conv2d(weight.shape[1] * groups, weight.shape[0], kernel, stride: stride, padding: padding, dilation: dilation,
            groups: groups, bias: bias is not null);
        conv.weight.copy_(weight);
        if (bias is not null) conv.bias!.copy_(bias);
        var crop = Crop(kernel, stride, dilation, padding, padEnd, ceilMode: false);
        return make((s, x) => [crop(Unary(s, x[0]), x[0])], conv, [Single(node, runtimeInputs)]);
    }

    Step BuildBatchNorm(OnnxModel model, OnnxNode node, string[] runtimeInputs, Func<Func<Step, Tensor[], Tensor[]>, nn.Module, string[]?, Step> make)
    {
        CheckAttributes(node, "epsilon", "momentum", "spatial", "is_test", "consumed_inputs", "training_mode");
        if (node.GetInt("spatial", 1) != 1)
            throw Unsupported(node, "normalises per activation (spatial = 0); only per-channel batch normalisation is imported");
        if (node.GetInt("training_mode", 0) != 0)
            throw Unsupported(node, "is in training mode; only inference-mode batch normalisation is imported");
        var (scale, shift, mean, variance) = (Stored(model, node, 1, "scale"), Stored(model, node, 2, "bias"), Stored(model, node, 3, "mean"), Stored(model, node, 4, "variance"));
        var channels = scale.shape[0];
        // ONNX's momentum weighs the old running value; PyTorch's weighs the new batch.
        var bn = nn.BatchNorm2d(channels, eps: node.GetFloat("epsilon", 1e-5f), momentum: 1 - node.GetFloat("momentum", 0.9f));
        bn.weight.copy_(scale);
        bn.bias!.copy_(shift);
        bn.running_mean!.copy_(mean);
        bn.running_var!.copy_(variance);
        return make((s, x) => [Unary(s, x[0])], bn, [Single(node, runtimeInputs)]);
    }

    Step BuildPool(OnnxNode node, string[] runtimeInputs, Func<Func<Step, Tensor[], Tensor[]>, nn.Module, string[]?, Step> make)
    {
        var max = node.OpType == "MaxPool";
        if (max) CheckAttributes(node, "auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides");
        else CheckAttributes(node, "auto_pad", "ceil_mode", "count_include_pad", "dilations", "kernel_shape", "pads", "strides");
        RequireOutputs(node, 1);
        var ks = node.GetInts("kernel_shape") ?? throw new InvalidDataException($"{node.Describe()} has no kernel_shape.");
        if (ks.Count != 2)
            throw Unsupported(node, $"pools over {ks.Count} dimensions; only 2-D pooling is imported");
        var kernel = (ks[0], ks[1]);
        var stride = Pair(node, "strides", 1);
        var dilation = Pair(node, "dilations", 1);
        var (padding, padEnd) = Padding(node);
        var ceilMode = node.GetInt("ceil_mode", 0) != 0;
        if (padding.Item1 > kernel.Item1 / 2 || padding.Item2 > kernel.Item2 / 2)
            throw Unsupported(node, $"pads ({padding.Item1}, {padding.Item2}) more than half its {kernel.Item1} x {kernel.Item2} window, which PyTorch's pooling layers refuse");
        if (ceilMode && padEnd != padding)
            throw Unsupported(node, "combines ceil_mode with asymmetric padding");
        var crop = Crop(kernel, stride, dilation, padding, padEnd, ceilMode);
        nn.Module<Tensor, Tensor> pool;
        if (max)
            pool = nn.MaxPool2d([kernel.Item1, kernel.Item2], [stride.Item1, stride.Item2], [padding.Item1, padding.Item2], [dilation.Item1, dilation.Item2], ceilMode);
        else
        {
            if (dilation != (1, 1))
                throw Unsupported(node, "uses a dilated average pool, which PyTorch's AvgPool2d cannot express");
            pool = nn.AvgPool2d([kernel.Item1, kernel.Item2], [stride.Item1, stride.Item2], [padding.Item1, padding.Item2], ceilMode,
                count_include_pad: node.GetInt("count_include_pad", 0) != 0);
        }
        return make((s, x) => [crop(Unary(s, x[0]), x[0])], pool, [Single(node, runtimeInputs)]);
    }

    Step BuildElementwise(OnnxModel model, OnnxNode node, string[] runtimeInputs, Func<Func<Step, Tensor[], Tensor[]>, nn.Module, string[]?, Step> make)
    {
        CheckAttributes(node, "broadcast", "consumed_inputs");
        RequireOutputs(node, 1);
        if (node.Inputs.Count != 2 || node.Inputs.Any(i => i.Length == 0))
            throw new InvalidDataException($"{node.Describe()} needs two inputs, has {node.Inputs.Count}.");
        var operation = Enum.Parse<ElementwiseOperation>(node.OpType);
        if (runtimeInputs.Length == 2)
        {
            var op = new Elementwise(operation);
            return make((_, x) => [op.call(x[0], x[1])], op, runtimeInputs);
        }
        if (runtimeInputs.Length == 0)
            throw Unsupported(node, "combines two stored constants; fold them before exporting");
        var constantFirst = model.Initializers.ContainsKey(node.Inputs[0]);
        var constant = model.Initializers[node.Inputs[constantFirst ? 0 : 1]];
        var withConstant = new ElementwiseWithConstant(operation, constant, constantFirst);
        return make((s, x) => [Unary(s, x[0])], withConstant, runtimeInputs);
    }

    /// <summary>Calls a single-tensor layer through <c>call</c>, so that its hooks run; looked up at run time so that <see cref="ReplaceLayer"/> takes effect.</summary>
    static Tensor Unary(Step step, Tensor x) => ((nn.Module<Tensor, Tensor>)step.Module).call(x);

    // ---------------------------------------------------------------- attribute helpers

    static NotSupportedException Unsupported(OnnxNode node, string why) => new($"ONNX {node.Describe()} {why}.");

    static void CheckAttributes(OnnxNode node, params string[] known)
    {
        foreach (var name in node.Attributes.Keys)
            if (!known.Contains(name))
                throw Unsupported(node, $"has the attribute '{name}' ({node.Attributes[name]}), which OnnxGraphModule does not handle for {node.OpType}");
    }

    static void RequireOutputs(OnnxNode node, int count)
    {
        if (node.Outputs.Count < count)
            throw new InvalidDataException($"{node.Describe()} has {node.Outputs.Count} outputs, needs {count}.");
        // Optional extra outputs (pooling indices, training statistics) are fine as long as nobody reads them;
        // the wiring of the rest of the graph is checked when a reader asks for them.
    }

    static string Single(OnnxNode node, string[] runtimeInputs) =>
        runtimeInputs.Length == 1 ? runtimeInputs[0]
            : throw Unsupported(node, $"takes {runtimeInputs.Length} computed inputs where one is expected (its weights must be stored in the file)");

    static Tensor Stored(OnnxModel model, OnnxNode node, int index, string what)
    {
        if (node.Inputs.Count <= index || node.Inputs[index].Length == 0)
            throw new InvalidDataException($"{node.Describe()} has no {what} input.");
        return model.Initializers.TryGetValue(node.Inputs[index], out var t) ? t
            : throw Unsupported(node, $"computes its {what} at run time; only weights stored in the file are imported");
    }

    static (long, long) Pair(OnnxNode node, string attribute, long fallback)
    {
        var values = node.GetInts(attribute);
        if (values is null || values.Count == 0) return (fallback, fallback);
        if (values.Count != 2)
            throw Unsupported(node, $"has {attribute} [{string.Join(", ", values)}]; only 2-D operations are imported");
        return (values[0], values[1]);
    }

    /// <summary>The start padding per axis (what the PyTorch layer applies on both sides) and the end padding ONNX asks for.</summary>
    static ((long, long) start, (long, long) end) Padding(OnnxNode node)
    {
        var autoPad = node.GetString("auto_pad", "NOTSET");
        if (autoPad is not ("NOTSET" or "VALID" or ""))
            throw Unsupported(node, $"uses auto_pad = {autoPad}; only explicit pads are imported");
        var pads = node.GetInts("pads");
        if (autoPad == "VALID" || pads is null || pads.Count == 0)
            return ((0, 0), (0, 0));
        if (pads.Count != 4)
            throw Unsupported(node, $"has pads [{string.Join(", ", pads)}]; only 2-D padding is imported");
        var start = (pads[0], pads[1]);
        var end = (pads[2], pads[3]);
        if (end.Item1 > start.Item1 || end.Item2 > start.Item2)
            throw Unsupported(node, $"pads asymmetrically [{string.Join(", ", pads)}] with more padding at the end than at the start, which PyTorch layers cannot express");
        return (start, end);
    }

    /// <summary>
    /// What to do after a padded layer: nothing when the padding is symmetric; otherwise drop the rows and
    /// columns that only exist because the layer padded the end as much as the start.
    /// </summary>
    static Func<Tensor, Tensor, Tensor> Crop((long, long) kernel, (long, long) stride, (long, long) dilation, (long, long) start, (long, long) end, bool ceilMode)
    {
        if (start == end)
            return (y, _) => y;
        long Size(long input, int axis)
        {
            var (k, s, d) = axis == 0 ? (kernel.Item1, stride.Item1, dilation.Item1) : (kernel.Item2, stride.Item2, dilation.Item2);
            var padded = input + (axis == 0 ? start.Item1 + end.Item1 : start.Item2 + end.Item2) - d * (k - 1) - 1;
            return (ceilMode ? (padded + s - 1) / s : padded / s) + 1;
        }
        return (y, x) =>
        {
            var (h, w) = (Size(x.shape[^2], 0), Size(x.shape[^1], 1));
            if (y.shape[^2] == h && y.shape[^1] == w)
                return y;
            using var full = y;
            return y.narrow(-2, 0, h).narrow(-1, 0, w);
        };
    }

    /// <summary>One operation of the forward pass: the layer it calls, the values it reads and writes, and those it frees afterwards.</summary>
    sealed class Step(string name, OnnxNode node, nn.Module module, string[] inputs, string[] outputs, Func<Step, Tensor[], Tensor[]> run)
    {
        public string Name { get; } = name;
        public OnnxNode Node { get; } = node;
        public nn.Module Module { get; set; } = module;
        public string[] Inputs { get; } = inputs;
        public string[] Outputs { get; } = outputs;
        public Func<Step, Tensor[], Tensor[]> Run { get; } = run;
        public string[] ReleaseAfter { get; set; } = [];
    }
}

/// <summary>A container that only groups layers, so that their names nest (layer1 → 0 → conv1) as in PyTorch.</summary>
internal sealed class LayerGroup : nn.Module
{
    public LayerGroup() : base(nameof(LayerGroup)) { }
}

/// <summary>The element-wise operations ONNX graphs use for residual sums and input normalisation.</summary>
public enum ElementwiseOperation
{
    Add,
    Sub,
    Mul,
    Div,
}

/// <summary>
/// An element-wise operation on two computed tensors, with broadcasting: in a ResNet, the residual sum.
/// A module (and not a bare <c>a + b</c>) so that hooks and relevance rules can find and intercept it.
/// </summary>
public sealed class Elementwise : nn.Module<Tensor, Tensor, Tensor>
{
    /// <summary>The module for one operation.</summary>
    public Elementwise(ElementwiseOperation operation) : base(operation.ToString()) => Operation = operation;

    /// <summary>What the module computes.</summary>
    public ElementwiseOperation Operation { get; }

    /// <inheritdoc/>
    public override Tensor forward(Tensor a, Tensor b) => Operation switch
    {
        ElementwiseOperation.Add => a + b,
        ElementwiseOperation.Sub => a - b,
        ElementwiseOperation.Mul => a * b,
        _ => a / b,
    };
}

/// <summary>
/// An element-wise operation between the input and a stored constant (a buffer, so it follows the module
/// to another device or dtype): the scaling and mean subtraction of an input preprocessing graph.
/// </summary>
public sealed class ElementwiseWithConstant : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE0044 // Reassigned by TorchSharp when the module moves to another device or dtype.
    Tensor constant;
#pragma warning restore IDE0044

    /// <summary>The module for <c>x op constant</c>, or <c>constant op x</c> when <paramref name="constantFirst"/>. The constant is copied.</summary>
    public ElementwiseWithConstant(ElementwiseOperation operation, Tensor constant, bool constantFirst = false) : base(operation + "Constant")
    {
        Operation = operation;
        ConstantFirst = constantFirst;
        this.constant = constant.to_type(ScalarType.Float32, copy: true).DetachFromDisposeScope();
        RegisterComponents();
    }

    /// <summary>What the module computes.</summary>
    public ElementwiseOperation Operation { get; }

    /// <summary>Whether the constant is the left operand (matters for Sub and Div).</summary>
    public bool ConstantFirst { get; }

    /// <summary>The stored operand.</summary>
    public Tensor Constant => constant;

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        var (a, b) = ConstantFirst ? (constant, x) : (x, constant);
        return Operation switch
        {
            ElementwiseOperation.Add => a + b,
            ElementwiseOperation.Sub => a - b,
            ElementwiseOperation.Mul => a * b,
            _ => a / b,
        };
    }
}

/// <summary>Cuts a tensor into consecutive parts along one axis (ONNX Split), e.g. an image into its colour channels.</summary>
public sealed class Split : nn.Module<Tensor, Tensor[]>
{
    readonly long[]? sizes;
    readonly int parts;

    /// <summary>Parts of the given <paramref name="sizes"/>, or <paramref name="parts"/> equal parts when sizes is null.</summary>
    public Split(long axis, long[]? sizes, int parts) : base(nameof(Split))
    {
        Axis = axis;
        this.sizes = sizes;
        this.parts = parts;
    }

    /// <summary>The axis it cuts along.</summary>
    public long Axis { get; }

    /// <inheritdoc/>
    public override Tensor[] forward(Tensor x)
    {
        if (sizes is not null)
            return x.split(sizes, Axis);
        var length = x.shape[Axis < 0 ? x.dim() + Axis : Axis];
        if (length % parts != 0)
            throw new ArgumentException($"Split: axis {Axis} has length {length}, which does not divide into {parts} equal parts.");
        return x.split(length / parts, Axis);
    }
}

/// <summary>Joins tensors along one axis (ONNX Concat), e.g. colour channels in another order.</summary>
public sealed class Concat : nn.Module<Tensor[], Tensor>
{
    /// <summary>Joins along <paramref name="axis"/>.</summary>
    public Concat(long axis) : base(nameof(Concat)) => Axis = axis;

    /// <summary>The axis it joins along.</summary>
    public long Axis { get; }

    /// <inheritdoc/>
    public override Tensor forward(Tensor[] parts) => torch.cat(parts, Axis);
}

/// <summary>
/// Gives the nodes of a graph readable, PyTorch-style layer names from its structure, and an execution order in
/// which each residual block runs its main path before its shortcut (as torchvision's BasicBlock does).
/// </summary>
internal static class LayerNaming
{
    /// <summary>The node indices in execution order, and each node's layer name.</summary>
    public static (int[] order, string[] names) Assign(OnnxModel model) =>
        TryResNet(model) ?? Generic(model);

    static string Short(string op) => op switch
    {
        "Conv" => "conv",
        "BatchNormalization" => "bn",
        "Relu" => "relu",
        "MaxPool" => "maxpool",
        "AveragePool" or "GlobalAveragePool" => "avgpool",
        "Gemm" or "MatMul" => "fc",
        _ => op.ToLowerInvariant(),
    };

    /// <summary>Names by operator and count (conv1, conv2, relu1, …); nodes before the first convolution go under "preprocess".</summary>
    static (int[], string[]) Generic(OnnxModel model)
    {
        var nodes = model.Nodes;
        var names = new string[nodes.Count];
        var firstConv = FirstConv(nodes);
        NameSection(nodes, Enumerable.Range(0, firstConv), names, "preprocess.", numberAlways: []);
        NameSection(nodes, Enumerable.Range(firstConv, nodes.Count - firstConv), names, "", numberAlways: ["conv", "bn", "relu", "add"]);
        return (Enumerable.Range(0, nodes.Count).ToArray(), names);
    }

    static int FirstConv(IReadOnlyList<OnnxNode> nodes)
    {
        for (var i = 0; i < nodes.Count; i++)
            if (nodes[i].OpType == "Conv") return i;
        return nodes.Count;
    }

    /// <summary>Names a run of nodes by operator: "maxpool" when it occurs once, "conv1", "conv2" … otherwise (or always, for <paramref name="numberAlways"/>).</summary>
    static void NameSection(IReadOnlyList<OnnxNode> nodes, IEnumerable<int> section, string[] names, string prefix, string[] numberAlways)
    {
        var indices = section.ToList();
        var totals = indices.GroupBy(i => Short(nodes[i].OpType)).ToDictionary(g => g.Key, g => g.Count());
        var counters = new Dictionary<string, int>();
        foreach (var i in indices)
        {
            var op = Short(nodes[i].OpType);
            var n = counters[op] = counters.GetValueOrDefault(op) + 1;
            names[i] = prefix + (totals[op] > 1 || numberAlways.Contains(op) ? $"{op}{n}" : op);
        }
    }

    sealed record Block(int Add, int? Relu, List<int> Main, List<int> Shortcut, string Output);

    /// <summary>ResNet names, or null when the graph is not a chain of residual blocks after a stem.</summary>
    static (int[], string[])? TryResNet(OnnxModel model)
    {
        var nodes = model.Nodes;
        var producer = new Dictionary<string, int>();
        var consumers = new Dictionary<string, List<int>>();
        for (var i = 0; i < nodes.Count; i++)
        {
            foreach (var o in nodes[i].Outputs) producer[o] = i;
            foreach (var input in nodes[i].Inputs)
                (consumers.TryGetValue(input, out var list) ? list : consumers[input] = []).Add(i);
        }
        bool Computed(string value) => value.Length > 0 && !model.Initializers.ContainsKey(value);
        int ProducerOf(string value) => producer.TryGetValue(value, out var p) ? p : -1;

        var firstConv = FirstConv(nodes);
        var adds = Enumerable.Range(firstConv, nodes.Count - firstConv)
            .Where(i => nodes[i].OpType == "Add" && nodes[i].Inputs.Count(Computed) == 2).ToList();
        if (firstConv == nodes.Count || adds.Count == 0)
            return null;

        // The values a value is computed from (itself included).
        HashSet<string> Ancestors(string value)
        {
            var seen = new HashSet<string>();
            var stack = new Stack<string>([value]);
            while (stack.Count > 0)
            {
                var v = stack.Pop();
                if (!seen.Add(v)) continue;
                if (producer.TryGetValue(v, out var p))
                    foreach (var input in nodes[p].Inputs.Where(Computed)) stack.Push(input);
            }
            return seen;
        }

        // The nodes between a block's input and one of the Add's operands, or null if the path leaves the block.
        List<int>? Branch(string from, string blockInput)
        {
            var found = new SortedSet<int>();
            var stack = new Stack<string>([from]);
            var blockStart = ProducerOf(blockInput);
            while (stack.Count > 0)
            {
                var v = stack.Pop();
                if (v == blockInput) continue;
                var p = ProducerOf(v);
                if (p <= blockStart) return null; // reaches something computed before the block's input
                if (!found.Add(p)) continue;
                foreach (var input in nodes[p].Inputs.Where(Computed)) stack.Push(input);
            }
            return found.ToList();
        }

        var blocks = new List<Block>();
        var covered = new HashSet<int>();
        foreach (var add in adds)
        {
            var (a, b) = (nodes[add].Inputs[0], nodes[add].Inputs[1]);
            var common = Ancestors(a);
            common.IntersectWith(Ancestors(b));
            if (common.Count == 0) return null;
            var blockInput = common.MaxBy(ProducerOf)!;
            if (blocks.Count > 0 && blockInput != blocks[^1].Output) return null;
            var (branchA, branchB) = (Branch(a, blockInput), Branch(b, blockInput));
            if (branchA is null || branchB is null || branchA.Count == branchB.Count) return null;
            var (main, shortcut) = branchA.Count > branchB.Count ? (branchA, branchB) : (branchB, branchA);
            var after = consumers.GetValueOrDefault(nodes[add].Outputs[0]) ?? [];
            int? relu = after.Count == 1 && nodes[after[0]].OpType == "Relu" ? after[0] : null;
            var output = relu is int r ? nodes[r].Outputs[0] : nodes[add].Outputs[0];
            var members = main.Concat(shortcut).Append(add).Concat(relu is int rr ? [rr] : Array.Empty<int>()).ToList();
            if (members.Any(covered.Contains)) return null;
            covered.UnionWith(members);
            blocks.Add(new Block(add, relu, main, shortcut, output));
        }

        var firstBlockNode = blocks.SelectMany(BlockNodes).Min();
        var lastBlockNode = blocks.SelectMany(BlockNodes).Max();
        var stem = Enumerable.Range(firstConv, nodes.Count - firstConv).Where(i => !covered.Contains(i) && i < firstBlockNode).ToList();
        var tail = Enumerable.Range(firstConv, nodes.Count - firstConv).Where(i => !covered.Contains(i) && i > lastBlockNode).ToList();
        if (firstConv + stem.Count + covered.Count + tail.Count != nodes.Count)
            return null; // something between the blocks that is not part of one

        var names = new string[nodes.Count];
        NameSection(nodes, Enumerable.Range(0, firstConv), names, "preprocess.", numberAlways: []);
        NameSection(nodes, stem, names, "", numberAlways: ["conv", "bn"]);
        NameSection(nodes, tail, names, "", numberAlways: []);
        var order = new List<int>(Enumerable.Range(0, firstConv));
        order.AddRange(stem);
        int stage = 0, index = 0;
        foreach (var block in blocks)
        {
            var downsamples = block.Shortcut.Count > 0 || block.Main.Any(i => nodes[i].GetInts("strides")?.Any(s => s > 1) == true);
            if (stage == 0 || (downsamples && index > 0)) { stage++; index = 0; }
            var prefix = $"layer{stage}.{index}.";
            NameSection(nodes, block.Main, names, prefix, numberAlways: ["conv", "bn", "relu"]);
            NameSection(nodes, block.Shortcut, names, prefix + "downsample.", numberAlways: []);
            names[block.Add] = prefix + "add";
            if (block.Relu is int relu)
                names[relu] = prefix + $"relu{block.Main.Count(i => nodes[i].OpType == "Relu") + 1}";
            order.AddRange(BlockNodes(block));
            index++;
        }
        order.AddRange(tail);

        // The names must be unique and no name may be a container of another (e.g. "x" and "x.y").
        var unique = new HashSet<string>(names);
        if (unique.Count != names.Length || names.Any(n => unique.Any(o => o.StartsWith(n + ".", StringComparison.Ordinal))))
            return null;
        return (order.ToArray(), names);
    }

    static IEnumerable<int> BlockNodes(Block block) =>
        block.Main.Concat(block.Shortcut).Append(block.Add).Concat(block.Relu is int r ? [r] : Array.Empty<int>());
}
