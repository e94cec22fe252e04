using WhatNetworksLearn.Adversarial;
using WhatNetworksLearn.Attribution;
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

    /// <summary>The technique as an attribution method, for the contract every attribution method keeps (AttributionContractTests).</summary>
    public AttributionMember? Attribution { get; init; }

    /// <summary>The technique as an attack, for the contract every attack keeps (AttackContractTests).</summary>
    public AttackMember? Attack { get; init; }

    /// <summary>The sizes at which the benchmarks time it (none: not benchmarked).</summary>
    public IReadOnlyList<Benchmark> Benchmarks { get; init; } = [];

    public override string ToString() => Name;
}

/// <summary>One benchmark of a technique: its name and size as the results table shows them, and the run, made from the shared inputs.</summary>
public sealed record Benchmark(string Name, string Size, Func<BenchmarkInputs, Action> Run);

/// <summary>
/// An attribution method as its family's contract tests build it: <paramref name="Make"/> gives the method around a model,
/// with the entry's settings and the seed given. <paramref name="Seeded"/>: the seed changes the maps (false for a method
/// that draws nothing at random; it ignores the seed, and the contract asks only that two runs agree).
/// </summary>
public sealed record AttributionMember(Func<VisionModel, int, IAttribution> Make, bool Seeded = false);

/// <summary>
/// An attack as its family's contract tests build it: <paramref name="Make"/> gives the attack around a model, with the
/// entry's settings and the seed given; <paramref name="Budget"/> is what it promises about the size of its change, and
/// must be enough to reach any target on the contract's easy case (a linear model of four quadrants that one pixel
/// brightened by 0.01 decides). <paramref name="Seeded"/>: the seed changes the result (false for an attack that draws nothing at random).
/// </summary>
public sealed record AttackMember(Func<VisionModel, int, IAttack> Make, AttackBudget Budget, bool Seeded = false);

/// <summary>What an attack promises about the size of its change.</summary>
public abstract record AttackBudget
{
    /// <summary>Why <paramref name="perturbation"/> (N x C x H x W) breaks the budget, or null when it keeps it.</summary>
    public abstract string? Broken(Tensor perturbation);
}

/// <summary>No pixel value moves by more than <paramref name="Epsilon"/> (the L∞ ball).</summary>
public sealed record LInfinityBudget(double Epsilon) : AttackBudget
{
    public override string? Broken(Tensor perturbation)
    {
        float largest = perturbation.abs().max().item<float>();
        return largest <= Epsilon + 1e-6 ? null : $"a pixel value moved by {largest}, beyond ε = {Epsilon}";
    }
}

/// <summary>At most <paramref name="Pixels"/> pixels of each image change (in any channel).</summary>
public sealed record ChangedPixelsBudget(int Pixels) : AttackBudget
{
    public override string? Broken(Tensor perturbation)
    {
        using var changed = perturbation.ne(0).any(1).flatten(1).sum(1);
        long most = changed.max().item<long>();
        return most <= Pixels ? null : $"{most} pixels of one image changed, beyond {Pixels}";
    }
}

/// <summary>No bound on the change, declared with the reason (an attack that minimises the change instead of bounding it).</summary>
public sealed record NoBudget(string Reason) : AttackBudget
{
    public override string? Broken(Tensor perturbation) => null;
}
