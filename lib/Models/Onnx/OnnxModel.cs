using System.Buffers.Binary;
using TorchSharp;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Models.Onnx;

/// <summary>What an ONNX attribute holds (the values of onnx.proto's AttributeProto.AttributeType).</summary>
public enum OnnxAttributeType
{
    Undefined = 0,
    Float = 1,
    Int = 2,
    String = 3,
    Tensor = 4,
    Graph = 5,
    Floats = 6,
    Ints = 7,
    Strings = 8,
    Tensors = 9,
    Graphs = 10,
    SparseTensor = 11,
    SparseTensors = 12,
    TypeProto = 13,
    TypeProtos = 14,
}

/// <summary>
/// One attribute of an ONNX node (kernel size, strides, epsilon…). Only the kinds a convolutional network
/// needs are kept: numbers, lists of numbers, strings and tensors; the others are recorded by type only,
/// so that an importer can say which attribute it cannot handle.
/// </summary>
public sealed class OnnxAttribute
{
    /// <summary>An attribute; <paramref name="tensor"/>, if any, becomes the owning model's.</summary>
    public OnnxAttribute(string name, OnnxAttributeType type, long intValue = 0, float floatValue = 0, string? stringValue = null,
        IReadOnlyList<long>? ints = null, IReadOnlyList<float>? floats = null, Tensor? tensor = null)
    {
        Name = name;
        Type = type;
        Int = intValue;
        Float = floatValue;
        String = stringValue;
        Ints = ints ?? [];
        Floats = floats ?? [];
        Tensor = tensor;
    }

    /// <summary>The attribute's name, e.g. "strides".</summary>
    public string Name { get; }
    /// <summary>Which of the value properties is meant.</summary>
    public OnnxAttributeType Type { get; }
    /// <summary>The value of an <see cref="OnnxAttributeType.Int"/> attribute.</summary>
    public long Int { get; }
    /// <summary>The value of a <see cref="OnnxAttributeType.Float"/> attribute.</summary>
    public float Float { get; }
    /// <summary>The value of a <see cref="OnnxAttributeType.String"/> attribute (ONNX strings are bytes; read as UTF-8).</summary>
    public string? String { get; }
    /// <summary>The values of an <see cref="OnnxAttributeType.Ints"/> attribute.</summary>
    public IReadOnlyList<long> Ints { get; }
    /// <summary>The values of an <see cref="OnnxAttributeType.Floats"/> attribute.</summary>
    public IReadOnlyList<float> Floats { get; }
    /// <summary>The value of a <see cref="OnnxAttributeType.Tensor"/> attribute, owned by the model.</summary>
    public Tensor? Tensor { get; }

    /// <inheritdoc/>
    public override string ToString() => Type switch
    {
        OnnxAttributeType.Int => $"{Name}={Int}",
        OnnxAttributeType.Float => $"{Name}={Float}",
        OnnxAttributeType.String => $"{Name}=\"{String}\"",
        OnnxAttributeType.Ints => $"{Name}=[{string.Join(", ", Ints)}]",
        OnnxAttributeType.Floats => $"{Name}=[{string.Join(", ", Floats)}]",
        OnnxAttributeType.Tensor => $"{Name}=tensor[{string.Join(", ", Tensor?.shape ?? [])}]",
        _ => $"{Name}: {Type}",
    };
}

/// <summary>One operation of an ONNX graph: its type, the named values it reads and writes, and its attributes.</summary>
public sealed class OnnxNode
{
    /// <summary>A node. An empty string among <paramref name="inputs"/> marks an optional input that is left out.</summary>
    public OnnxNode(string name, string opType, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs,
        IEnumerable<OnnxAttribute>? attributes = null, string domain = "")
    {
        Name = name;
        OpType = opType;
        Inputs = inputs;
        Outputs = outputs;
        Domain = domain;
        var byName = new Dictionary<string, OnnxAttribute>();
        foreach (var attribute in attributes ?? [])
            byName[attribute.Name] = attribute;
        Attributes = byName;
    }

    /// <summary>The node's name in the file (may be empty; CNTK exports use names like "Convolution249").</summary>
    public string Name { get; }
    /// <summary>The operator, e.g. "Conv".</summary>
    public string OpType { get; }
    /// <summary>The operator set the operator belongs to; empty for the standard one.</summary>
    public string Domain { get; }
    /// <summary>Names of the values the node reads, in the operator's order.</summary>
    public IReadOnlyList<string> Inputs { get; }
    /// <summary>Names of the values the node writes.</summary>
    public IReadOnlyList<string> Outputs { get; }
    /// <summary>The attributes, by name.</summary>
    public IReadOnlyDictionary<string, OnnxAttribute> Attributes { get; }

    /// <summary>An integer attribute, or <paramref name="fallback"/> when the node does not set it.</summary>
    public long GetInt(string name, long fallback) => Attributes.TryGetValue(name, out var a) ? a.Int : fallback;

    /// <summary>A float attribute, or <paramref name="fallback"/> when the node does not set it.</summary>
    public float GetFloat(string name, float fallback) => Attributes.TryGetValue(name, out var a) ? a.Float : fallback;

    /// <summary>A string attribute, or <paramref name="fallback"/> when the node does not set it.</summary>
    public string GetString(string name, string fallback) => Attributes.TryGetValue(name, out var a) && a.String is not null ? a.String : fallback;

    /// <summary>An integer-list attribute, or null when the node does not set it.</summary>
    public IReadOnlyList<long>? GetInts(string name) => Attributes.TryGetValue(name, out var a) ? a.Ints : null;

    /// <summary>How error messages name the node: its name, operator and first output.</summary>
    public string Describe() =>
        $"node '{(Name.Length > 0 ? Name : "(unnamed)")}' ({OpType}{(Outputs.Count > 0 ? $" → {Outputs[0]}" : "")})";

    /// <inheritdoc/>
    public override string ToString() =>
        $"{OpType} {Name}({string.Join(", ", Inputs)}) → {string.Join(", ", Outputs)} {{{string.Join(", ", Attributes.Values)}}}";
}

/// <summary>A graph input or output: its name, element type (onnx.proto's TensorProto.DataType) and shape (null entries are symbolic).</summary>
public sealed record OnnxValueInfo(string Name, int ElementType, IReadOnlyList<long?>? Shape)
{
    /// <summary>The shape as "1 x 3 x 224 x 224" ("?" for symbolic dimensions).</summary>
    public string ShapeText => Shape is null ? "unknown" : string.Join(" x ", Shape.Select(d => d?.ToString() ?? "?"));
}

/// <summary>
/// An ONNX model read from its protobuf file with the kit's own reader (no protobuf library needed):
/// the graph's nodes in execution order, its weights (initializers) as TorchSharp tensors, and its inputs
/// and outputs. Floating-point weights become float32 tensors, integer ones int64. The model owns its
/// tensors: dispose it once a module has been built from it (<see cref="OnnxGraphModule"/> copies them).
/// </summary>
public sealed class OnnxModel : IDisposable
{
    /// <summary>A model built in code. It takes ownership of the initializer and attribute tensors.</summary>
    public OnnxModel(string source, IReadOnlyList<OnnxNode> nodes, IReadOnlyDictionary<string, Tensor> initializers,
        IReadOnlyList<OnnxValueInfo> inputs, IReadOnlyList<OnnxValueInfo> outputs, string graphName = "", string producer = "",
        long irVersion = 0, long opsetVersion = 0)
    {
        Source = source;
        Nodes = nodes;
        Initializers = initializers;
        // Older exporters list the weights among the graph inputs too; the real inputs are the others.
        Inputs = inputs.Where(i => !initializers.ContainsKey(i.Name)).ToList();
        Outputs = outputs;
        GraphName = graphName;
        Producer = producer;
        IrVersion = irVersion;
        OpsetVersion = opsetVersion;
    }

    /// <summary>Where the model came from (its file), for messages.</summary>
    public string Source { get; }
    /// <summary>The graph's name in the file.</summary>
    public string GraphName { get; }
    /// <summary>The program that wrote the file, e.g. "CNTK 2.6".</summary>
    public string Producer { get; }
    /// <summary>The file format's version (onnx.proto's ir_version).</summary>
    public long IrVersion { get; }
    /// <summary>The version of the standard operator set the graph uses (0 when the file does not say).</summary>
    public long OpsetVersion { get; }
    /// <summary>The operations, in an order in which each one's inputs are computed before it runs.</summary>
    public IReadOnlyList<OnnxNode> Nodes { get; }
    /// <summary>The stored values (weights, statistics, constants), by name.</summary>
    public IReadOnlyDictionary<string, Tensor> Initializers { get; }
    /// <summary>The values the caller provides (the weights listed as inputs by older exporters are left out).</summary>
    public IReadOnlyList<OnnxValueInfo> Inputs { get; }
    /// <summary>The values the graph computes for its caller.</summary>
    public IReadOnlyList<OnnxValueInfo> Outputs { get; }

    /// <summary>Reads an .onnx file. A damaged or truncated file is an <see cref="InvalidDataException"/> naming the file.</summary>
    public static OnnxModel Load(string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
            throw new FileNotFoundException($"No ONNX model at {full}.", full);
        return Parse(File.ReadAllBytes(full), full);
    }

    /// <summary>Reads an ONNX model from its bytes; <paramref name="source"/> names it in error messages.</summary>
    public static OnnxModel Parse(ReadOnlySpan<byte> bytes, string source = "(in-memory ONNX model)")
    {
        var owned = new List<Tensor>();
        try
        {
            var model = ReadModel(new ProtobufReader(bytes), source, owned);
            model.CheckWiring();
            return model;
        }
        catch (Exception e) when (e is InvalidDataException or OverflowException)
        {
            foreach (var t in owned) t.Dispose();
            throw new InvalidDataException($"{source} is not a readable ONNX model (damaged or truncated?): {e.Message}", e);
        }
        catch (NotSupportedException e)
        {
            foreach (var t in owned) t.Dispose();
            throw new NotSupportedException($"{source}: {e.Message}", e);
        }
        catch
        {
            foreach (var t in owned) t.Dispose();
            throw;
        }
    }

    /// <summary>
    /// One model that runs <paramref name="stages"/> one after the other: each stage's single output feeds the
    /// next stage's single input. Names that two stages share are made unique.
    /// </summary>
    /// <remarks>
    /// The chained model shares the stages' tensors rather than copying 45 MB of weights: keep the stages
    /// until you are done with it (e.g. until a module is built), and dispose them as usual; disposing the
    /// chained model frees nothing of theirs.
    /// </remarks>
    public static OnnxModel Chain(params OnnxModel[] stages) => Chain(stages, null);

    /// <summary>As <see cref="Chain(OnnxModel[])"/>, with the name error messages will use for the chained model.</summary>
    public static OnnxModel Chain(IReadOnlyList<OnnxModel> stages, string? source)
    {
        if (stages.Count == 0)
            throw new ArgumentException("Chain needs at least one model.", nameof(stages));
        var nodes = new List<OnnxNode>();
        var initializers = new Dictionary<string, Tensor>();
        var used = new HashSet<string>();
        string? previousOutput = null;
        for (var s = 0; s < stages.Count; s++)
        {
            var stage = stages[s];
            if (s > 0 && stage.Inputs.Count != 1)
                throw new ArgumentException($"{stage.Source} has {stage.Inputs.Count} inputs; only a model with one input can follow another.", nameof(stages));
            if (s < stages.Count - 1 && stage.Outputs.Count != 1)
                throw new ArgumentException($"{stage.Source} has {stage.Outputs.Count} outputs; only a model with one output can be followed by another.", nameof(stages));
            var names = new Dictionary<string, string>();
            if (s > 0)
                names[stage.Inputs[0].Name] = previousOutput!;
            string Rename(string name)
            {
                if (name.Length == 0) return name;
                if (names.TryGetValue(name, out var renamed)) return renamed;
                renamed = name;
                for (var k = 2; used.Contains(renamed); k++)
                    renamed = $"{name}_{k}";
                used.Add(renamed);
                names[name] = renamed;
                return renamed;
            }
            if (s == 0)
                foreach (var input in stage.Inputs) Rename(input.Name);
            foreach (var (name, value) in stage.Initializers)
                initializers[Rename(name)] = value;
            foreach (var node in stage.Nodes)
                nodes.Add(new OnnxNode(node.Name, node.OpType, node.Inputs.Select(Rename).ToList(), node.Outputs.Select(Rename).ToList(),
                    node.Attributes.Values, node.Domain));
            previousOutput = stage.Outputs.Count == 1 ? Rename(stage.Outputs[0].Name) : null;
        }
        var first = stages[0];
        var last = stages[^1];
        var outputs = stages.Count == 1 ? last.Outputs
            : [last.Outputs[0] with { Name = previousOutput! }];
        return new OnnxModel(source ?? string.Join(" + ", stages.Select(m => Path.GetFileName(m.Source))), nodes, initializers, first.Inputs, outputs,
            string.Join("+", stages.Select(m => m.GraphName)), first.Producer, first.IrVersion, stages.Max(m => m.OpsetVersion))
        { ownsTensors = false };
    }

    bool ownsTensors = true;

    /// <summary>Frees the tensors (those of a chained model belong to its stages, which free them).</summary>
    public void Dispose()
    {
        if (!ownsTensors)
            return;
        foreach (var t in Initializers.Values) t.Dispose();
        foreach (var node in Nodes)
            foreach (var a in node.Attributes.Values)
                a.Tensor?.Dispose();
    }

    /// <summary>Checks that every node reads values that exist by the time it runs, so that a damaged graph fails here and not halfway through a forward pass.</summary>
    void CheckWiring()
    {
        var available = new HashSet<string>(Inputs.Select(i => i.Name).Concat(Initializers.Keys)) { "" };
        foreach (var node in Nodes)
        {
            foreach (var input in node.Inputs)
                if (!available.Contains(input))
                    throw new InvalidDataException($"{node.Describe()} reads '{input}', which no earlier node, input or initializer provides");
            foreach (var output in node.Outputs) available.Add(output);
        }
        if (Outputs.Count == 0)
            throw new InvalidDataException("the graph has no outputs");
        foreach (var output in Outputs)
            if (!available.Contains(output.Name))
                throw new InvalidDataException($"the graph output '{output.Name}' is never computed");
    }

    // ---- onnx.proto, field by field (numbers from the public ONNX specification) ----

    static OnnxModel ReadModel(ProtobufReader reader, string source, List<Tensor> owned)
    {
        long irVersion = 0, opset = 0;
        string producer = "", producerVersion = "";
        OnnxModel? graph = null;
        while (reader.Next(out var field, out var wire))
        {
            switch (field)
            {
                case 1: reader.Expect(wire, WireType.Varint, "ModelProto.ir_version"); irVersion = reader.ReadInt64(); break;
                case 2: reader.Expect(wire, WireType.LengthDelimited, "ModelProto.producer_name"); producer = reader.ReadString(); break;
                case 3: reader.Expect(wire, WireType.LengthDelimited, "ModelProto.producer_version"); producerVersion = reader.ReadString(); break;
                case 7:
                    reader.Expect(wire, WireType.LengthDelimited, "ModelProto.graph");
                    var graphReader = reader.ReadMessage();
                    graph = ReadGraph(ref graphReader, source, owned);
                    break;
                case 8:
                    reader.Expect(wire, WireType.LengthDelimited, "ModelProto.opset_import");
                    var opsetReader = reader.ReadMessage();
                    var (domain, version) = ReadOpset(ref opsetReader);
                    if (domain is "" or "ai.onnx") opset = Math.Max(opset, version);
                    break;
                default: reader.Skip(wire); break;
            }
        }
        if (graph is null)
            throw new InvalidDataException("the file holds no graph (ModelProto.graph is missing)");
        var producerText = producerVersion.Length > 0 ? $"{producer} {producerVersion}" : producer;
        return new OnnxModel(source, graph.Nodes, graph.Initializers, graph.Inputs, graph.Outputs, graph.GraphName, producerText, irVersion, opset);
    }

    static (string domain, long version) ReadOpset(ref ProtobufReader reader)
    {
        string domain = "";
        long version = 0;
        while (reader.Next(out var field, out var wire))
        {
            if (field == 1 && wire == WireType.LengthDelimited) domain = reader.ReadString();
            else if (field == 2 && wire == WireType.Varint) version = reader.ReadInt64();
            else reader.Skip(wire);
        }
        return (domain, version);
    }

    static OnnxModel ReadGraph(ref ProtobufReader reader, string source, List<Tensor> owned)
    {
        var nodes = new List<OnnxNode>();
        var initializers = new Dictionary<string, Tensor>();
        var inputs = new List<OnnxValueInfo>();
        var outputs = new List<OnnxValueInfo>();
        var name = "";
        while (reader.Next(out var field, out var wire))
        {
            switch (field)
            {
                case 1:
                    {
                        reader.Expect(wire, WireType.LengthDelimited, "GraphProto.node");
                        var r = reader.ReadMessage();
                        nodes.Add(ReadNode(ref r, owned));
                        break;
                    }
                case 2: reader.Expect(wire, WireType.LengthDelimited, "GraphProto.name"); name = reader.ReadString(); break;
                case 5:
                    {
                        reader.Expect(wire, WireType.LengthDelimited, "GraphProto.initializer");
                        var r = reader.ReadMessage();
                        var (tensorName, tensor) = ReadTensor(ref r, owned);
                        if (!initializers.TryAdd(tensorName, tensor))
                            throw new InvalidDataException($"two initializers are named '{tensorName}'");
                        break;
                    }
                case 11:
                case 12:
                    {
                        reader.Expect(wire, WireType.LengthDelimited, field == 11 ? "GraphProto.input" : "GraphProto.output");
                        var r = reader.ReadMessage();
                        (field == 11 ? inputs : outputs).Add(ReadValueInfo(ref r));
                        break;
                    }
                case 15:
                    throw new NotSupportedException("the graph stores sparse initializers, which this importer does not read.");
                default: reader.Skip(wire); break;
            }
        }
        return new OnnxModel(source, nodes, initializers, inputs, outputs, name);
    }

    static OnnxNode ReadNode(ref ProtobufReader reader, List<Tensor> owned)
    {
        var inputs = new List<string>();
        var outputs = new List<string>();
        var attributes = new List<OnnxAttribute>();
        string name = "", opType = "", domain = "";
        while (reader.Next(out var field, out var wire))
        {
            switch (field)
            {
                case 1: reader.Expect(wire, WireType.LengthDelimited, "NodeProto.input"); inputs.Add(reader.ReadString()); break;
                case 2: reader.Expect(wire, WireType.LengthDelimited, "NodeProto.output"); outputs.Add(reader.ReadString()); break;
                case 3: reader.Expect(wire, WireType.LengthDelimited, "NodeProto.name"); name = reader.ReadString(); break;
                case 4: reader.Expect(wire, WireType.LengthDelimited, "NodeProto.op_type"); opType = reader.ReadString(); break;
                case 5:
                    {
                        reader.Expect(wire, WireType.LengthDelimited, "NodeProto.attribute");
                        var r = reader.ReadMessage();
                        attributes.Add(ReadAttribute(ref r, owned));
                        break;
                    }
                case 7: reader.Expect(wire, WireType.LengthDelimited, "NodeProto.domain"); domain = reader.ReadString(); break;
                default: reader.Skip(wire); break;
            }
        }
        if (opType.Length == 0)
            throw new InvalidDataException($"node '{name}' has no operator type");
        return new OnnxNode(name, opType, inputs, outputs, attributes, domain);
    }

    static OnnxAttribute ReadAttribute(ref ProtobufReader reader, List<Tensor> owned)
    {
        string name = "";
        string? text = null;
        long intValue = 0;
        float floatValue = 0;
        Tensor? tensor = null;
        var ints = new List<long>();
        var floats = new List<float>();
        var type = OnnxAttributeType.Undefined;
        var seen = OnnxAttributeType.Undefined; // what the fields say, for files that omit the type (IR version 1)
        while (reader.Next(out var field, out var wire))
        {
            switch (field)
            {
                case 1: reader.Expect(wire, WireType.LengthDelimited, "AttributeProto.name"); name = reader.ReadString(); break;
                case 2: reader.Expect(wire, WireType.Fixed32, "AttributeProto.f"); floatValue = reader.ReadFloat(); seen = OnnxAttributeType.Float; break;
                case 3: reader.Expect(wire, WireType.Varint, "AttributeProto.i"); intValue = reader.ReadInt64(); seen = OnnxAttributeType.Int; break;
                case 4: reader.Expect(wire, WireType.LengthDelimited, "AttributeProto.s"); text = reader.ReadString(); seen = OnnxAttributeType.String; break;
                case 5:
                    {
                        reader.Expect(wire, WireType.LengthDelimited, "AttributeProto.t");
                        var r = reader.ReadMessage();
                        tensor = ReadTensor(ref r, owned).tensor;
                        seen = OnnxAttributeType.Tensor;
                        break;
                    }
                case 6: reader.Skip(wire); seen = OnnxAttributeType.Graph; break;
                case 7: reader.ReadFloatValues(wire, floats); seen = OnnxAttributeType.Floats; break;
                case 8: reader.ReadInt64Values(wire, ints); seen = OnnxAttributeType.Ints; break;
                case 20: reader.Expect(wire, WireType.Varint, "AttributeProto.type"); type = (OnnxAttributeType)reader.ReadInt32(); break;
                default: reader.Skip(wire); break;
            }
        }
        if (type == OnnxAttributeType.Undefined) type = seen;
        return new OnnxAttribute(name, type, intValue, floatValue, text, ints, floats, tensor);
    }

    static OnnxValueInfo ReadValueInfo(ref ProtobufReader reader)
    {
        string name = "";
        int elementType = 0;
        List<long?>? shape = null;
        while (reader.Next(out var field, out var wire))
        {
            if (field == 1 && wire == WireType.LengthDelimited) { name = reader.ReadString(); continue; }
            if (field != 2 || wire != WireType.LengthDelimited) { reader.Skip(wire); continue; }
            var typeProto = reader.ReadMessage();                                   // TypeProto
            while (typeProto.Next(out var tf, out var tw))
            {
                if (tf != 1 || tw != WireType.LengthDelimited) { typeProto.Skip(tw); continue; }
                var tensorType = typeProto.ReadMessage();                           // TypeProto.Tensor
                while (tensorType.Next(out var xf, out var xw))
                {
                    if (xf == 1 && xw == WireType.Varint) { elementType = tensorType.ReadInt32(); continue; }
                    if (xf != 2 || xw != WireType.LengthDelimited) { tensorType.Skip(xw); continue; }
                    shape = [];
                    var shapeProto = tensorType.ReadMessage();                      // TensorShapeProto
                    while (shapeProto.Next(out var sf, out var sw))
                    {
                        if (sf != 1 || sw != WireType.LengthDelimited) { shapeProto.Skip(sw); continue; }
                        var dimension = shapeProto.ReadMessage();                   // TensorShapeProto.Dimension
                        long? value = null;
                        while (dimension.Next(out var df, out var dw))
                        {
                            if (df == 1 && dw == WireType.Varint) value = dimension.ReadInt64();
                            else dimension.Skip(dw);
                        }
                        shape.Add(value);
                    }
                }
            }
        }
        return new OnnxValueInfo(name, elementType, shape);
    }

    // TensorProto.DataType values this reader converts.
    const int Float32 = 1, Int32 = 6, Int64 = 7, Float16 = 10, Float64 = 11;

    static (string name, Tensor tensor) ReadTensor(ref ProtobufReader reader, List<Tensor> owned)
    {
        var dims = new List<long>();
        var dataType = 0;
        var name = "";
        var raw = ReadOnlySpan<byte>.Empty;
        var hasRaw = false;
        var floats = new List<float>();
        var floatRun = ReadOnlySpan<byte>.Empty; // float_data as one packed run (the usual case): copied straight into the tensor
        var floatRuns = 0;
        var doubles = new List<double>();
        var longs = new List<long>();    // int64_data, and int32_data (which also carries float16 bits)
        var external = false;
        while (reader.Next(out var field, out var wire))
        {
            switch (field)
            {
                case 1: reader.ReadInt64Values(wire, dims); break;
                case 2: reader.Expect(wire, WireType.Varint, "TensorProto.data_type"); dataType = reader.ReadInt32(); break;
                case 3: throw new NotSupportedException($"tensor '{name}' is stored in segments, which this importer does not read.");
                case 4:
                    if (wire == WireType.LengthDelimited && floatRuns == 0 && floats.Count == 0)
                    {
                        floatRun = reader.ReadBytes();
                        floatRuns = 1;
                    }
                    else
                    {
                        if (floatRuns == 1)
                            floats.AddRange(ProtobufReader.FloatsFromLittleEndian(floatRun));
                        floatRuns = 2;
                        reader.ReadFloatValues(wire, floats);
                    }
                    break;
                case 5: reader.ReadInt64Values(wire, longs); break;
                case 7: reader.ReadInt64Values(wire, longs); break;
                case 8: reader.Expect(wire, WireType.LengthDelimited, "TensorProto.name"); name = reader.ReadString(); break;
                case 9: reader.Expect(wire, WireType.LengthDelimited, "TensorProto.raw_data"); raw = reader.ReadBytes(); hasRaw = true; break;
                case 10: reader.ReadDoubleValues(wire, doubles); break;
                case 13: reader.Skip(wire); external = true; break;
                case 14: reader.Expect(wire, WireType.Varint, "TensorProto.data_location"); external |= reader.ReadInt32() == 1; break;
                default: reader.Skip(wire); break;
            }
        }
        if (external)
            throw new NotSupportedException($"tensor '{name}' is stored in an external data file; save the model with its weights inside the .onnx file.");
        if (dims.Any(d => d < 0))
            throw new InvalidDataException($"tensor '{name}' has a negative dimension [{string.Join(", ", dims)}]");
        var count = dims.Aggregate(1L, (a, d) => checked(a * d));
        var shape = dims.ToArray();

        void CheckCount(long actual)
        {
            if (actual != count)
                throw new InvalidDataException($"tensor '{name}' of shape [{string.Join(", ", dims)}] should hold {count} values but holds {actual}");
        }
        void CheckRawLength(int length, int elementSize)
        {
            if (length % elementSize != 0)
                throw new InvalidDataException($"tensor '{name}' has {length} bytes of raw data, not a whole number of {elementSize}-byte values");
        }

        Tensor result;
        switch (dataType)
        {
            case Float32:
                {
                    var bytes = hasRaw ? raw : floatRuns == 1 ? floatRun : ReadOnlySpan<byte>.Empty;
                    if (hasRaw || floatRuns == 1)
                    {
                        CheckRawLength(bytes.Length, 4);
                        CheckCount(bytes.Length / 4);
                        result = torch.empty(shape, ScalarType.Float32);
                        if (BitConverter.IsLittleEndian && count > 0)
                            bytes.CopyTo(result.bytes); // one copy, from the file's bytes into the tensor
                        else if (count > 0)
                            result.data<float>().CopyFrom(ProtobufReader.FloatsFromLittleEndian(bytes));
                    }
                    else
                    {
                        CheckCount(floats.Count);
                        result = torch.tensor(floats.ToArray(), shape, dtype: ScalarType.Float32);
                    }
                    break;
                }
            case Float64:
                {
                    double[] values;
                    if (hasRaw)
                    {
                        CheckRawLength(raw.Length, 8);
                        values = new double[raw.Length / 8];
                        for (var i = 0; i < values.Length; i++)
                            values[i] = BinaryPrimitives.ReadDoubleLittleEndian(raw.Slice(8 * i, 8));
                    }
                    else values = doubles.ToArray();
                    CheckCount(values.LongLength);
                    result = torch.tensor(values.Select(v => (float)v).ToArray(), shape, dtype: ScalarType.Float32);
                    break;
                }
            case Float16:
                {
                    float[] values;
                    if (hasRaw)
                    {
                        CheckRawLength(raw.Length, 2);
                        values = new float[raw.Length / 2];
                        for (var i = 0; i < values.Length; i++)
                            values[i] = (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(raw.Slice(2 * i, 2)));
                    }
                    else values = longs.Select(bits => (float)BitConverter.UInt16BitsToHalf((ushort)bits)).ToArray();
                    CheckCount(values.LongLength);
                    result = torch.tensor(values, shape, dtype: ScalarType.Float32);
                    break;
                }
            case Int64:
            case Int32:
                {
                    long[] values;
                    var size = dataType == Int64 ? 8 : 4;
                    if (hasRaw)
                    {
                        CheckRawLength(raw.Length, size);
                        values = new long[raw.Length / size];
                        for (var i = 0; i < values.Length; i++)
                            values[i] = size == 8
                                ? BinaryPrimitives.ReadInt64LittleEndian(raw.Slice(8 * i, 8))
                                : BinaryPrimitives.ReadInt32LittleEndian(raw.Slice(4 * i, 4));
                    }
                    else values = longs.Select(v => dataType == Int32 ? (int)v : v).ToArray();
                    CheckCount(values.LongLength);
                    result = torch.tensor(values, shape, dtype: ScalarType.Int64);
                    break;
                }
            default:
                throw new NotSupportedException($"tensor '{name}' has ONNX data type {dataType}; this importer reads float, double, float16, int32 and int64 tensors.");
        }
        // The model owns its tensors: they must outlive any dispose scope the caller has open.
        result.DetachFromDisposeScope();
        owned.Add(result);
        return (name, result);
    }
}
