using NotebookRunner;
using WhatNetworksLearn;
using WhatNetworksLearn.Platform;

// Usage: dotnet run --project tests/NotebookRunner [-- name-filter ...]
//        dotnet run --project tests/NotebookRunner -- --check
// Runs every notebook in notebooks/ (or those whose name contains a filter), one fresh kernel each,
// and writes artifacts/<notebook>/ with the executed notebook, its figures as PNG files and run.json (time, peak
// memory, figure titles), then artifacts/summary.md and artifacts/index.html (the gallery) over every recorded run.
// --check prints the environment check instead (environment/README.md).
//        dotnet run --project tests/NotebookRunner -- --reruns 20 [name-filter ...]
// --reruns N runs each notebook's cells N times over in one kernel, as a student rerunning them does, and prints
// the kernel's memory after each run (artifacts/reruns/<notebook>/reruns.json); figures are not saved.
var root = Kit.Root();
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

int? reruns = args is ["--reruns", var count, ..] ? int.Parse(count) : null;
var filters = reruns is null ? args : args[2..];
var notebooks = Workspace.Notebooks(root)
    .Where(path => filters.Length == 0 || filters.Any(filter => Path.GetFileName(path).Contains(filter, StringComparison.OrdinalIgnoreCase)))
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
var results = new List<NotebookResult>();
foreach (var notebook in notebooks)
{
    Console.WriteLine($"Running {Path.GetFileName(notebook)} ...");
    var result = NotebookRun.Execute(notebook, artifacts, Workspace.NotebookTimeout);
    results.Add(result);
    Console.WriteLine($"  {(result.Succeeded ? "ok" : "FAILED")} in {result.Seconds:F1} s, {result.Figures.Count} figure(s), " +
        $"peak memory {(result.PeakMemoryBytes is long b ? $"{b / 1e6:F0} MB" : "n/a")}");
    foreach (var error in result.Errors)
        Console.WriteLine("  " + error.Split('\n')[0]);
}
Gallery.Write(artifacts);
var largest = results.Max(r => r.PeakMemoryBytes);
Console.WriteLine($"{results.Count(r => r.Succeeded)} passed, {results.Count(r => !r.Succeeded)} failed; total {results.Sum(r => r.Seconds):F0} s; " +
    $"largest kernel memory {(largest is long most ? $"{most / 1e6:F0} MB" : "n/a")}. Figures in {artifacts}, gallery in {Path.Combine(artifacts, Gallery.PageFile)}");
return results.All(r => r.Succeeded) ? 0 : 1;
