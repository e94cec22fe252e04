using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Models.Onnx;

/// <summary>
/// Reads an .onnx file into ONNX's own message classes (OnnxSharp's, generated from onnx.proto for Google.Protobuf)
/// and gives its graph's nodes and stored tensors by name. A damaged or truncated file is an
/// <see cref="InvalidDataException"/> that names the file.
/// </summary>
public sealed class OnnxFile
{
    readonly Dictionary<string, NodeProto> nodes = [];
    readonly Dictionary<string, TensorProto> initializers = [];

    /// <summary>A parsed model; <paramref name="source"/> names it in messages.</summary>
    public OnnxFile(ModelProto model, string source)
    {
        Source = source;
        Model = model;
        if (model.Graph is null)
            throw NotAsExpected("it holds no graph");
        foreach (var node in model.Graph.Node)
            if (node.Name.Length > 0 && !nodes.TryAdd(node.Name, node))
                throw NotAsExpected($"two nodes are named '{node.Name}'");
        foreach (var tensor in model.Graph.Initializer)
            if (!initializers.TryAdd(tensor.Name, tensor))
                throw NotAsExpected($"two initializers are named '{tensor.Name}'");
    }

    /// <summary>Reads the file at <paramref name="path"/>.</summary>
    public static OnnxFile Load(string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
            throw new FileNotFoundException($"No ONNX model at {full}.", full);
        try
        {
            using var stream = File.OpenRead(full);
            return new OnnxFile(ModelProto.Parser.ParseFrom(stream), full);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"{full} is not a readable ONNX model (damaged or truncated?): {e.Message}", e);
        }
    }

    /// <summary>Where the model came from (its file), for messages.</summary>
    public string Source { get; }

    /// <summary>The whole message, as onnx.proto defines it.</summary>
    public ModelProto Model { get; }

    /// <summary>The graph's nodes in the file's order (an order in which each runs after the nodes it reads from).</summary>
    public IReadOnlyList<NodeProto> Nodes => Model.Graph.Node;

    /// <summary>The node of that name and operator; a missing one or one of another operator is an <see cref="InvalidDataException"/>.</summary>
    public NodeProto Node(string name, string opType) =>
        nodes.TryGetValue(name, out var node) && node.OpType == opType ? node
            : throw NotAsExpected(node is null ? $"it has no node '{name}'" : $"its node '{name}' is a {node.OpType}, not a {opType}");

    /// <summary>The one node that reads <paramref name="value"/>, which must be of operator <paramref name="opType"/>.</summary>
    public NodeProto ReaderOf(string value, string opType)
    {
        var readers = Nodes.Where(n => n.Input.Contains(value)).ToList();
        return readers is [{ } node] && node.OpType == opType ? node
            : throw NotAsExpected($"'{value}' should be read by one {opType} node, but is read by {readers.Count} node(s) ({string.Join(", ", readers.Select(n => n.OpType))})");
    }

    /// <summary>A stored float tensor, as a new TorchSharp tensor (the caller owns it).</summary>
    public Tensor Tensor(string name) =>
        initializers.TryGetValue(name, out var stored) ? ToTensor(stored, Source) : throw NotAsExpected($"it has no stored tensor '{name}'");

    /// <summary>An integer-list attribute of a node, or <paramref name="fallback"/> when the node does not set it.</summary>
    public static long[] Ints(NodeProto node, string name, params long[] fallback) =>
        node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? [.. a.Ints] : fallback;

    /// <summary>A float attribute of a node, or <paramref name="fallback"/>.</summary>
    public static float Float(NodeProto node, string name, float fallback) =>
        node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.F : fallback;

    /// <summary>
    /// A float32 tensor from its stored values (<c>raw_data</c> or <c>float_data</c>). Other element types and
    /// weights kept in external files are refused with a <see cref="NotSupportedException"/>; a value count that
    /// does not match the shape is an <see cref="InvalidDataException"/>.
    /// </summary>
    public static Tensor ToTensor(TensorProto stored, string source)
    {
        if (stored.DataLocation == TensorProto.Types.DataLocation.External)
            throw new NotSupportedException($"{source}: tensor '{stored.Name}' is stored in an external file; save the model with its weights inside.");
        if (stored.DataType != (int)TensorProto.Types.DataType.Float)
            throw new NotSupportedException($"{source}: tensor '{stored.Name}' has ONNX element type {stored.DataType}; only float tensors are read.");
        var shape = stored.Dims.ToArray();
        if (shape.Any(d => d < 0))
            throw new InvalidDataException($"{source}: tensor '{stored.Name}' has a negative dimension [{string.Join(", ", shape)}].");
        var values = stored.RawData.Length > 0 ? MemoryMarshal.Cast<byte, float>(stored.RawData.Span).ToArray() : stored.FloatData.ToArray();
        var count = shape.Aggregate(1L, (a, d) => a * d);
        if (values.LongLength != count || stored.RawData.Length % 4 != 0)
            throw new InvalidDataException($"{source}: tensor '{stored.Name}' of shape [{string.Join(", ", shape)}] should hold {count} values but holds {values.LongLength} (damaged or truncated?).");
        return torch.tensor(values, shape);
    }

    /// <summary>The error for a file that differs from what the importer expects: <paramref name="what"/> says how.</summary>
    public InvalidDataException NotAsExpected(string what) => new($"{Source} is not the ONNX model expected (damaged or truncated?): {what}.");
}
