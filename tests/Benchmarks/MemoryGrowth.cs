using System.Diagnostics;
using TorchSharp;

namespace Benchmarks;

/// <summary>
/// The classroom check: a student reruns a cell twenty times. For each technique, resident memory after the first
/// run against after the twentieth, and the live tensors left behind (TorchSharp counts every tensor not yet
/// disposed on this thread). Growth means a tensor escapes disposal.
/// </summary>
public static class MemoryGrowth
{
    public sealed record Row(string Technique, string Size, double FirstMb, double LastMb, long LiveTensorsAfterFirst, long LiveTensorsAfterLast)
    {
        public double GrowthMb => LastMb - FirstMb;
    }

    public static List<Row> Measure(Workloads workloads, int runs = 20, Action<string>? log = null)
    {
        var rows = new List<Row>();
        foreach (var workload in workloads.All())
        {
            var trace = Trace(workload, runs).ToList();
            var row = new Row(workload.Name, workload.Size, trace[0].Mb, trace[^1].Mb, trace[0].LiveTensors, trace[^1].LiveTensors);
            log?.Invoke($"{row.Technique} ({row.Size}): {row.FirstMb:F0} MB after run 1, {row.LastMb:F0} MB after run {runs}, " +
                        $"live tensors {row.LiveTensorsAfterFirst} -> {row.LiveTensorsAfterLast}");
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>Resident memory and live tensors after each of <paramref name="runs"/> runs of one workload.</summary>
    public static IEnumerable<(int Run, double Mb, long LiveTensors)> Trace(Workload workload, int runs)
    {
        for (int run = 1; run <= runs; run++)
        {
            workload.Run();
            var (mb, live) = Settle();
            yield return (run, mb, live);
        }
    }

    /// <summary>Resident memory (MB) and live tensors once the garbage collector has run its finalisers.</summary>
    static (double Mb, long LiveTensors) Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var process = Process.GetCurrentProcess();
        return (process.WorkingSet64 / 1e6, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    public static string Table(IEnumerable<Row> rows, int runs) =>
        $"| technique | size | MB after run 1 | MB after run {runs} | growth MB | live tensors after run 1 / {runs} |\n|---|---|---:|---:|---:|---:|\n" +
        string.Concat(rows.Select(r => $"| {r.Technique} | {r.Size} | {r.FirstMb:F0} | {r.LastMb:F0} | {r.GrowthMb:+0;-0;0} | {r.LiveTensorsAfterFirst} / {r.LiveTensorsAfterLast} |\n"));
}
