using System.Diagnostics;

namespace Benchmarks;

/// <summary>
/// The kit's half of an alternating comparison (alternate.py): reads workload names ("name: size"), one a line, runs
/// each once and answers with its milliseconds, so that a driver can interleave the kit's runs with another tool's
/// within one sitting. "list" answers with every name, one a line, then an empty line.
/// </summary>
public static class Serve
{
    public static void Run(IEnumerable<Workload> workloads)
    {
        var byName = workloads.ToDictionary(w => $"{w.Name}: {w.Size}");
        Console.WriteLine("ready");
        while (Console.ReadLine() is { } line)
        {
            if (line == "list")
            {
                foreach (var name in byName.Keys)
                    Console.WriteLine(name);
                Console.WriteLine();
                continue;
            }
            if (!byName.TryGetValue(line, out var workload))
            {
                Console.WriteLine($"unknown workload: {line}");
                continue;
            }
            var clock = Stopwatch.StartNew();
            workload.Run();
            Console.WriteLine(clock.Elapsed.TotalMilliseconds.ToString("F2", System.Globalization.CultureInfo.InvariantCulture));
        }
    }
}
