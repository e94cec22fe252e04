using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using WhatNetworksLearn.Rendering;

namespace NotebookRunner;

/// <summary>A figure a notebook displayed, saved as <c>File</c>.png beside the executed notebook.</summary>
public sealed record SavedFigure(string File, string Title);

/// <summary>
/// What running one notebook produced; also written as run.json in the notebook's artifacts folder, from which the
/// summary and the gallery are made. <c>PeakMemoryBytes</c> is the kernel's largest resident memory (null off Linux).
/// </summary>
public sealed record NotebookResult(
    string Name, string Title, bool Succeeded, double Seconds, long? PeakMemoryBytes, IReadOnlyList<SavedFigure> Figures, IReadOnlyList<string> Errors)
{
    public IEnumerable<string> FigureFiles => Figures.Select(f => f.File);
}

/// <summary>
/// What running a notebook's cells again and again in one kernel did to its memory: the kernel's resident memory
/// (MB) after each run of all the cells. Written as reruns.json in artifacts/reruns/&lt;notebook&gt;/.
/// </summary>
public sealed record RerunResult(string Name, bool Succeeded, double Seconds, IReadOnlyList<double> MegabytesAfterEachRun, IReadOnlyList<string> Errors)
{
    /// <summary>Memory after the last run minus memory after the first (0 for fewer than two runs).</summary>
    public double GrowthMegabytes => MegabytesAfterEachRun.Count < 2 ? 0 : MegabytesAfterEachRun[^1] - MegabytesAfterEachRun[0];
}

/// <summary>
/// Executes one notebook in a fresh dotnet-repl kernel, started in the notebook's folder as VS Code does,
/// and saves every figure it displayed as a PNG file.
/// </summary>
/// <remarks>
/// dotnet-repl (pinned in .config/dotnet-tools.json) runs the same kernel as the editor and writes the executed
/// notebook; an in-process kernel would share one process, and so one TorchSharp state, between notebooks.
/// </remarks>
public static partial class NotebookRun
{
    [GeneratedRegex("<figure data-figure=\"(?<slug>[^\"]+)\"[^>]*><img src=\"data:image/png;base64,(?<png>[^\"]+)\"[^>]*alt=\"(?<title>[^\"]*)\"")]
    private static partial Regex FigurePattern();

    /// <summary>The file in each notebook's artifacts folder that records its run.</summary>
    public const string RunFile = "run.json";

    static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    /// <summary>The runs recorded in an artifacts folder, in notebook order (notebooks run earlier stay listed).</summary>
    public static List<NotebookResult> Recorded(string artifactsRoot) =>
        !Directory.Exists(artifactsRoot) ? [] :
        Workspace.InNotebookOrder(Directory.GetDirectories(artifactsRoot))
            .Select(folder => Path.Combine(folder, RunFile)).Where(File.Exists)
            .Select(file => JsonSerializer.Deserialize<NotebookResult>(File.ReadAllText(file), JsonOptions)!)
            .ToList();

    public static NotebookResult Execute(string notebookPath, string artifactsRoot, TimeSpan timeout)
    {
        var name = Path.GetFileNameWithoutExtension(notebookPath);
        var outputFolder = FreshFolder(Path.Combine(artifactsRoot, name));
        var executed = Path.Combine(outputFolder, name + ".ipynb");
        var (seconds, peak, errors) = RunKernel(notebookPath, Path.GetDirectoryName(Path.GetFullPath(notebookPath))!, executed, outputFolder, timeout);

        var figures = new List<SavedFigure>();
        foreach (var cellOutput in OutputsOf(executed))
            foreach (var html in HtmlOf(cellOutput))
                foreach (Match match in FigurePattern().Matches(html))
                    figures.Add(new(SaveFigure(outputFolder, match.Groups["slug"].Value, match.Groups["png"].Value),
                        WebUtility.HtmlDecode(match.Groups["title"].Value)));
        var result = new NotebookResult(name, TitleOf(notebookPath), errors.Count == 0, seconds, peak, figures, errors);
        File.WriteAllText(Path.Combine(outputFolder, RunFile), JsonSerializer.Serialize(result, JsonOptions));
        return result;
    }

    /// <summary>
    /// Runs all of a notebook's cells <paramref name="runs"/> times over in one kernel, as a student who chooses
    /// Run All again and again does, and reads the kernel's resident memory after each run. The kernel runs a
    /// generated notebook (written to artifacts/reruns/&lt;name&gt;/) whose cells are the notebook's, repeated, each
    /// repetition followed by a cell that reports the memory after a garbage collection; it starts in the notebook's folder, so that
    /// <c>#!import setup.dib</c> and relative paths mean what they mean there. Figures are not saved.
    /// </summary>
    public static RerunResult ExecuteReruns(string notebookPath, string artifactsRoot, int runs, TimeSpan timeout)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(runs, 1);
        var name = Path.GetFileNameWithoutExtension(notebookPath);
        var outputFolder = FreshFolder(Path.Combine(artifactsRoot, "reruns", name));
        var notebook = JsonNode.Parse(File.ReadAllText(notebookPath))!;
        var cells = notebook["cells"]!.AsArray().Where(c => c!["cell_type"]!.GetValue<string>() == "code").ToList();
        var repeated = new JsonArray();
        for (var run = 1; run <= runs; run++)
        {
            foreach (var cell in cells)
                repeated.Add(cell!.DeepClone());
            // What the kernel holds, not garbage waiting for a collection: collect, run finalisers (which free
            // tensors nobody disposed and nobody can reach), collect again, then read resident memory.
            repeated.Add(CodeCell("System.GC.Collect(); System.GC.WaitForPendingFinalizers(); System.GC.Collect();\n" +
                $"System.Console.WriteLine($\"{RerunMarker} {run} {{System.Diagnostics.Process.GetCurrentProcess().WorkingSet64}}\");"));
        }
        notebook["cells"] = repeated;
        var generated = Path.Combine(outputFolder, name + $"-x{runs}.ipynb");
        File.WriteAllText(generated, notebook.ToJsonString());

        var executed = Path.Combine(outputFolder, name + $"-x{runs}-executed.ipynb");
        var (seconds, _, errors) = RunKernel(generated, Path.GetDirectoryName(Path.GetFullPath(notebookPath))!, executed, outputFolder, timeout);
        var megabytes = OutputsOf(executed).SelectMany(TextOf)
            .Select(text => RerunPattern().Match(text)).Where(m => m.Success)
            .Select(m => long.Parse(m.Groups["bytes"].Value) / 1e6).ToList();
        if (errors.Count == 0 && megabytes.Count != runs)
            errors.Add($"Expected {runs} memory reports, found {megabytes.Count}.");
        var result = new RerunResult(name, errors.Count == 0, seconds, megabytes, errors);
        File.WriteAllText(Path.Combine(outputFolder, "reruns.json"), JsonSerializer.Serialize(result, JsonOptions));
        return result;
    }

    const string RerunMarker = "kit-rerun-memory";

    [GeneratedRegex(RerunMarker + @" (?<run>\d+) (?<bytes>\d+)")]
    private static partial Regex RerunPattern();

    static JsonObject CodeCell(string source) => new()
    {
        ["cell_type"] = "code",
        ["execution_count"] = null,
        ["metadata"] = new JsonObject { ["polyglot_notebook"] = new JsonObject { ["kernelName"] = "csharp" } },
        ["outputs"] = new JsonArray(),
        ["source"] = new JsonArray(source),
    };

    static string FreshFolder(string folder)
    {
        if (Directory.Exists(folder))
            Directory.Delete(folder, recursive: true);
        Directory.CreateDirectory(folder);
        return folder;
    }

    /// <summary>
    /// Runs a notebook in a fresh dotnet-repl kernel started in <paramref name="workingDirectory"/>, writing the executed
    /// notebook to <paramref name="executed"/> and the kernel's output to kernel.log; returns the time, the kernel's peak
    /// resident memory and the errors (cells that failed, a time-out, a kernel that wrote nothing).
    /// </summary>
    static (double Seconds, long? PeakBytes, List<string> Errors) RunKernel(string notebookPath, string workingDirectory, string executed,
        string outputFolder, TimeSpan timeout)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "tool", "run", "dotnet-repl", "--run", Path.GetFullPath(notebookPath), "--output-path", executed, "--exit-after-run" })
            start.ArgumentList.Add(argument);
        start.Environment["KIT_LIB_PREBUILT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";

        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var memory = new MemorySampler(process.Id);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        var errors = new List<string>();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            errors.Add($"Timed out after {timeout.TotalSeconds:F0} s.");
        }
        process.WaitForExit();
        var seconds = clock.Elapsed.TotalSeconds;
        memory.Dispose();
        File.WriteAllText(Path.Combine(outputFolder, "kernel.log"), output.Result + error.Result);

        if (!File.Exists(executed))
            errors.Add("The kernel wrote no executed notebook; see kernel.log.");
        foreach (var cellOutput in OutputsOf(executed))
            if (cellOutput["output_type"]?.GetValue<string>() == "error")
                errors.Add($"{cellOutput["ename"]}: {cellOutput["evalue"]}");
        if (process.HasExited && process.ExitCode != 0 && errors.Count == 0)
            errors.Add($"dotnet-repl exited with code {process.ExitCode}; see kernel.log.");
        return (seconds, memory.PeakBytes, errors);
    }

    /// <summary>Every output of every cell of an executed notebook (none if the file is missing).</summary>
    static IEnumerable<JsonNode> OutputsOf(string executed) =>
        !File.Exists(executed) ? [] :
        JsonNode.Parse(File.ReadAllText(executed))!["cells"]!.AsArray().SelectMany(cell => cell!["outputs"]?.AsArray() ?? []).Select(o => o!);

    static IEnumerable<string> TextOf(JsonNode output)
    {
        foreach (var node in new[] { output["text"], output["data"]?["text/plain"] })
            if (node is JsonArray lines)
                yield return string.Concat(lines.Select(l => l!.GetValue<string>()));
            else if (node is JsonValue value)
                yield return value.GetValue<string>();
    }

    /// <summary>The first heading of the notebook's first markdown cell, or its file name.</summary>
    static string TitleOf(string notebookPath)
    {
        var cells = JsonNode.Parse(File.ReadAllText(notebookPath))!["cells"]!.AsArray();
        var firstMarkdown = cells.FirstOrDefault(c => c!["cell_type"]!.GetValue<string>() == "markdown");
        var heading = firstMarkdown?["source"]!.AsArray().Select(l => l!.GetValue<string>().Trim())
            .FirstOrDefault(l => l.StartsWith('#'));
        return heading?.TrimStart('#').Trim() ?? Path.GetFileNameWithoutExtension(notebookPath);
    }

    static IEnumerable<string> HtmlOf(JsonNode output)
    {
        var html = output["data"]?["text/html"];
        if (html is JsonArray lines)
            yield return string.Concat(lines.Select(l => l!.GetValue<string>()));
        else if (html is JsonValue value)
            yield return value.GetValue<string>();
    }

    static string SaveFigure(string folder, string slug, string base64)
    {
        slug = Figure.MakeSlug(slug);
        var path = Path.Combine(folder, slug + ".png");
        for (int n = 2; File.Exists(path); n++)
            path = Path.Combine(folder, $"{slug}-{n}.png");
        File.WriteAllBytes(path, Convert.FromBase64String(base64));
        return Path.GetFileNameWithoutExtension(path);
    }
}
