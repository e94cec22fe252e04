using NotebookRunner;
using WhatNetworksLearn;
using WhatNetworksLearn.Platform;

// Usage: dotnet run --project tests/NotebookRunner [-- name-filter ...]
//        dotnet run --project tests/NotebookRunner -- --check
// Runs every notebook in notebooks/ (or those whose name contains a filter), one fresh kernel each,
// and writes artifacts/<notebook>/ with the executed notebook, its figures as PNG files and its run time.
// --check prints the environment check instead (environment/README.md).
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

var notebooks = Workspace.Notebooks(root)
    .Where(path => args.Length == 0 || args.Any(filter => Path.GetFileName(path).Contains(filter, StringComparison.OrdinalIgnoreCase)))
    .ToList();
var artifacts = Path.Combine(root, "artifacts");
var results = new List<NotebookResult>();
foreach (var notebook in notebooks)
{
    Console.WriteLine($"Running {Path.GetFileName(notebook)} ...");
    var result = NotebookRun.Execute(notebook, artifacts, Workspace.NotebookTimeout);
    results.Add(result);
    Console.WriteLine($"  {(result.Succeeded ? "ok" : "FAILED")} in {result.Seconds:F1} s, {result.Figures.Count} figure(s)");
    foreach (var error in result.Errors)
        Console.WriteLine("  " + error.Split('\n')[0]);
}
Workspace.WriteSummary(artifacts, results);
Console.WriteLine($"{results.Count(r => r.Succeeded)} passed, {results.Count(r => !r.Succeeded)} failed; total {results.Sum(r => r.Seconds):F0} s. Figures in {artifacts}");
return results.All(r => r.Succeeded) ? 0 : 1;
