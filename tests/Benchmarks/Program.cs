using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Benchmarks;

// dotnet run -c Release --project tests/Benchmarks                 every benchmark (about 20 minutes here)
// dotnet run -c Release --project tests/Benchmarks -- --filter '*' --job short ...   any BenchmarkDotNet option
// dotnet run -c Release --project tests/Benchmarks -- --memory [runs]   the twenty-reruns memory check
// dotnet run -c Release --project tests/Benchmarks -- --memory-trace name [runs]   memory after every run of one technique
// dotnet run -c Release --project tests/Benchmarks -- --serve   runs the workload named on each line of input once, prints
//                                                                 its milliseconds (alternate.py pairs it with PyTorch or raw TorchSharp)
// dotnet run -c Release --project tests/Benchmarks -- --only ROAD RISE   only the workloads whose "name: size" contains one of the words
if (args is ["--serve"])
{
    using var workloads = new Workloads();
    using var forward = new ForwardPasses();
    Serve.Run(workloads.All().Concat(workloads.RawTorchSharp()).Concat(forward.All()));
    return 0;
}
if (args.Length > 1 && args[0] == "--memory-trace")
{
    using var workloads = new Workloads();
    var workload = workloads.All().First(w => $"{w.Name}: {w.Size}".Contains(args[1], StringComparison.OrdinalIgnoreCase));
    int runs = args.Length > 2 ? int.Parse(args[2]) : 20;
    foreach (var (run, mb, live) in MemoryGrowth.Trace(workload, runs))
        Console.WriteLine($"{workload.Name} ({workload.Size}) run {run}: {mb:F0} MB, live tensors {live}");
    return 0;
}
if (args.Length > 0 && args[0] == "--memory")
{
    int runs = args.Length > 1 ? int.Parse(args[1]) : 20;
    using var workloads = new Workloads();
    var rows = MemoryGrowth.Measure(workloads, runs, Console.WriteLine);
    Console.WriteLine();
    Console.WriteLine(MemoryGrowth.Table(rows, runs));
    return 0;
}

// In process: the techniques load native TorchSharp and the kit's data once; a run is seconds, so a warm-up run
// and three measured runs per technique are enough (the spread is reported).
var config = DefaultConfig.Instance
    .AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithStrategy(RunStrategy.Monitoring)
        .WithLaunchCount(1).WithWarmupCount(1).WithIterationCount(3))
    .WithSummaryStyle(SummaryStyle.Default.WithMaxParameterColumnWidth(100));
if (args is ["--only", .. var words])
{
    TechniqueBenchmarks.Only = words;
    args = [];
}
BenchmarkSwitcher.FromAssembly(typeof(TechniqueBenchmarks).Assembly).Run(args.Length == 0 ? ["--filter", "*"] : args, config);
return 0;
