using NotebookRunner;
using WhatNetworksLearn;
using WhatNetworksLearn.Platform;

// Usage: dotnet run --project tests/NotebookRunner [-- [--stand-in] [--solutions] [--reruns N] name-filter ...]
//        dotnet run --project tests/NotebookRunner -- --check
//        dotnet run --project tests/NotebookRunner -- --fetch [resnet18 vgg16 alexnet]
// Runs every notebook in notebooks/ (or those whose name contains a filter), one fresh kernel each,
// and writes artifacts/<notebook>/ with the executed notebook, its figures as PNG files and run.json (time, peak
// memory, figure titles), then artifacts/summary.md and artifacts/index.html (the gallery) over every recorded run.
//   --stand-in   runs the ImageNet figures on random stand-in weights (announced in every notebook that uses them), as the tests do;
//   --solutions  appends to each notebook its exercises' solutions and typical mistakes from notebooks/solutions/ (Solutions.cs),
//                so a teacher sees every check say correct and not yet;
//   --reruns N   runs each notebook's cells N times over in one kernel, as a student rerunning them does, and prints the
//                kernel's memory after each run (artifacts/reruns/<notebook>/reruns.json); figures are not saved;
//   --check      prints the environment check instead (environment/README.md);
//   --fetch      downloads the official ImageNet weights into the cache (environment/fetch-models.sh).
var root = Kit.Root();
if (args is ["--fetch", .. var names])
    return WeightsFetch.Run(names.Length == 0 ? ["resnet18"] : names);
foreach (var result in TorchSharpNativeFix.Apply())
    Console.WriteLine($"libLibTorchSharp.so: {result.Outcome}: {result.Path}");
if (args is ["--check"])
{
    var findings = EnvironmentCheck.BeforeTorch().Concat(EnvironmentCheck.Torch()).ToList();
    foreach (var finding in findings)
        Console.WriteLine($"{(finding.Problem ? "PROBLEM " : "")}{finding.Item}: {finding.Value}{(finding.Advice is null ? "" : "\n    " + finding.Advice)}");
    return findings.Any(f => f.Problem) ? 1 : 0;
}
Workspace.RestoreTools(root);

bool standIn = false, withSolutions = false;
int? reruns = null;
var filters = new List<string>();
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--stand-in": standIn = true; break;
        case "--solutions": withSolutions = true; break;
        case "--reruns" when i + 1 < args.Length && int.TryParse(args[i + 1], out var count) && count > 0: reruns = count; i++; break;
        case "--reruns": Console.Error.WriteLine("--reruns needs a number of runs, e.g. --reruns 20."); return 2;
        default: filters.Add(args[i]); break;
    }
}
var notebooks = Workspace.Notebooks(root)
    .Where(path => filters.Count == 0 || filters.Any(filter => Path.GetFileName(path).Contains(filter, StringComparison.OrdinalIgnoreCase)))
    .ToList();
var artifacts = Path.Combine(root, "artifacts");
if (reruns is int runs)
{
    var rerunResults = notebooks.Select(notebook =>
    {
        Console.WriteLine($"Running {Path.GetFileName(notebook)} {runs} times in one kernel ...");
        var result = NotebookRun.ExecuteReruns(notebook, artifacts, runs, runs * Workspace.NotebookTimeout);
        Console.WriteLine($"  {(result.Succeeded ? "ok" : "FAILED")} in {result.Seconds:F0} s; MB after each run: " +
            $"{string.Join(", ", result.MegabytesAfterEachRun.Select(mb => mb.ToString("F0")))}; growth {result.GrowthMegabytes:+0;-0;0} MB");
        foreach (var error in result.Errors)
            Console.WriteLine("  " + error.Split('\n')[0]);
        return result;
    }).ToList();
    return rerunResults.All(r => r.Succeeded) ? 0 : 1;
}
var environment = standIn ? StandInWeights.Environment(StandInWeights.Create(Path.Combine(artifacts, "stand-in-weights"))) : null;
var results = new List<NotebookResult>();
foreach (var notebook in notebooks)
{
    Console.WriteLine($"Running {Path.GetFileName(notebook)}{(standIn ? " with stand-in ImageNet weights" : "")} ...");
    var toRun = notebook;
    if (withSolutions && File.Exists(Solutions.FileOf(notebook)))
        Solutions.Derive(notebook, toRun = Path.Combine(artifacts, ".with-solutions", Path.GetFileName(notebook)));
    var result = NotebookRun.Execute(toRun, artifacts, Workspace.NotebookTimeout, environment, workingDirectory: Path.GetDirectoryName(notebook));
    results.Add(result);
    Console.WriteLine($"  {(result.Succeeded ? "ok" : "FAILED")} in {result.Seconds:F1} s, {result.Figures.Count} figure(s), " +
        $"peak memory {(result.PeakMemoryBytes is long b ? $"{b / 1e6:F0} MB" : "n/a")}");
    foreach (var error in result.Errors)
        Console.WriteLine("  " + error.Split('\n')[0]);
    foreach (var exercise in result.ExerciseOutcomes.Where(e => withSolutions || e.Status != "not-answered"))
        Console.WriteLine($"  exercise '{exercise.Title}': {exercise.Status}");
}
Gallery.Write(artifacts);
var largest = results.Max(r => r.PeakMemoryBytes);
Console.WriteLine($"{results.Count(r => r.Succeeded)} passed, {results.Count(r => !r.Succeeded)} failed; total {results.Sum(r => r.Seconds):F0} s; " +
    $"largest kernel memory {(largest is long most ? $"{most / 1e6:F0} MB" : "n/a")}. Figures in {artifacts}, gallery in {Path.Combine(artifacts, Gallery.PageFile)}");
return results.All(r => r.Succeeded) ? 0 : 1;
