using BenchmarkDotNet.Attributes;

namespace Benchmarks;

/// <summary>
/// One benchmark per workload (<see cref="Workloads.All"/>). The techniques take from milliseconds to tens of
/// seconds, so each is measured as a few whole runs after one warm-up run (BenchmarkDotNet's monitoring strategy),
/// with the managed memory each run allocates.
/// </summary>
[MemoryDiagnoser]
public class TechniqueBenchmarks
{
    Workloads workloads = null!;
    Workload current = null!;

    /// <summary>The workload's name and size, as the results table shows it.</summary>
    [ParamsSource(nameof(Names))]
    public string Technique { get; set; } = "";

    /// <summary>Words a workload's "name: size" must contain one of to be run (--only); empty: every workload.</summary>
    public static IReadOnlyList<string> Only { get; set; } = [];

    public static IEnumerable<string> Names()
    {
        using var all = new Workloads();
        return all.All().Select(w => $"{w.Name}: {w.Size}")
            .Where(name => Only.Count == 0 || Only.Any(word => name.Contains(word, StringComparison.OrdinalIgnoreCase))).ToList();
    }

    [GlobalSetup]
    public void Setup()
    {
        workloads = new Workloads();
        current = workloads.All().Single(w => $"{w.Name}: {w.Size}" == Technique);
    }

    [Benchmark]
    public void Run() => current.Run();

    [GlobalCleanup]
    public void Cleanup() => workloads.Dispose();
}
