using Catalogue;

namespace Benchmarks;

/// <summary>One technique at a stated size: what the benchmarks time and the memory check repeats.</summary>
public sealed record Workload(string Name, string Size, Action Run);

/// <summary>
/// Every benchmark of the catalogue (<see cref="Techniques.All"/>, in tests/Catalogue), made from one set of shared
/// models and inputs (<see cref="BenchmarkInputs"/>) loaded once.
/// </summary>
public sealed class Workloads : IDisposable
{
    readonly BenchmarkInputs inputs = new();

    /// <summary>Every technique of the kit at the size its benchmark states.</summary>
    public IReadOnlyList<Workload> All() =>
        Techniques.All.SelectMany(t => t.Benchmarks).Select(b => new Workload(b.Name, b.Size, b.Run(inputs))).ToList();

    /// <summary>Some of them written with TorchSharp alone, on the same models and inputs (<see cref="RawTorchSharp"/>).</summary>
    public IReadOnlyList<Workload> RawTorchSharp() => Benchmarks.RawTorchSharp.All(inputs);

    public void Dispose() => inputs.Dispose();
}
