using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace Catalogue;

/// <summary>
/// One technique of the kit, registered once in <see cref="Techniques.All"/> with everything the sweeps need: the
/// bad-input sweep and the disposal test run its smoke call, the bad-options test its bad options, the benchmarks its
/// sizes, and the notebook tests check that its notebook calls it.
/// </summary>
/// <param name="Name">What the technique is called in test names.</param>
/// <param name="Notebook">The notebook that teaches it (file name without extension).</param>
/// <param name="NotebookCall">Text the notebook's code must contain where it uses the technique, e.g. <c>new Occlusion(</c>.</param>
public sealed record Technique(string Name, string Notebook, string NotebookCall)
{
    /// <summary>The lib types the technique is made of; every lib type that takes a model must appear in some entry.</summary>
    public required IReadOnlyList<Type> Types { get; init; }

    /// <summary>
    /// The technique on a batch of images (N x C x H x W), as a student would call it, its result disposed: what the
    /// bad-input sweep feeds bad images and the disposal test reruns. The call disposes what it makes itself, so a
    /// tensor left alive afterwards is the technique's. Null for techniques that take no images.
    /// </summary>
    public Action<VisionModel, Tensor>? OnImages { get; init; }

    /// <summary>The technique started from nothing but the model (class models, fooling images…), its result disposed; for the disposal test.</summary>
    public Action<VisionModel>? FromNothing { get; init; }

    /// <summary>Calls with one bad option each, given the model and a valid image: each must be refused with an ArgumentOutOfRangeException before any work.</summary>
    public IReadOnlyList<Action<VisionModel, Tensor>> BadOptions { get; init; } = [];

    /// <summary>The sizes at which the benchmarks time it (none: not benchmarked).</summary>
    public IReadOnlyList<Benchmark> Benchmarks { get; init; } = [];

    public override string ToString() => Name;
}

/// <summary>One benchmark of a technique: its name and size as the results table shows them, and the run, made from the shared inputs.</summary>
public sealed record Benchmark(string Name, string Size, Func<BenchmarkInputs, Action> Run);
