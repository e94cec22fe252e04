using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using WhatNetworksLearn.Notebook;
using WhatNetworksLearn.Rendering;

namespace NotebookRunner;

/// <summary>A figure a notebook displayed, saved as <c>File</c>.png beside the executed notebook.</summary>
public sealed record SavedFigure(string File, string Title);

/// <summary>What one exercise check displayed: the cell (0-based, all cells counted), the exercise's title, and not-answered, correct or not-yet.</summary>
public sealed record ExerciseOutcome(int Cell, string Title, string Status);

/// <summary>An interactive chart a notebook displayed, saved as the page <c>File</c>.html (it carries plotly.js, so it draws offline).</summary>
public sealed record SavedChart(string File, string Title, int Width, int Height);

/// <summary>
/// What running one notebook produced; also written as run.json in the notebook's artifacts folder, from which the
/// summary and the gallery are made. <c>PeakMemoryBytes</c> is the kernel's largest resident memory (null off Linux).
/// <c>Charts</c> is null in runs recorded before the runner saved charts.
/// </summary>
public sealed record NotebookResult(
    string Name, string Title, bool Succeeded, double Seconds, long? PeakMemoryBytes, IReadOnlyList<SavedFigure> Figures, IReadOnlyList<string> Errors,
    IReadOnlyList<SavedChart>? Charts = null, IReadOnlyList<ExerciseOutcome>? Exercises = null)
{
    public IEnumerable<string> FigureFiles => Figures.Select(f => f.File);
    public IReadOnlyList<SavedChart> SavedCharts => Charts ?? [];
    public IReadOnlyList<ExerciseOutcome> ExerciseOutcomes => Exercises ?? [];
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

/// <summary>A figure as an executed notebook holds it: inline PNG in an HTML output.</summary>
public sealed record InlineFigure(string Slug, string Title, byte[] Png);

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

    [GeneratedRegex("<div " + Charts.MarkerAttribute + "=\"(?<slug>[^\"]+)\" data-title=\"(?<title>[^\"]*)\" data-width=\"(?<width>\\d+)\" data-height=\"(?<height>\\d+)\"")]
    private static partial Regex ChartPattern();

    [GeneratedRegex("<div data-exercise=\"(?<status>[a-z-]+)\"[^>]*><b>\\S+ (?<title>[^<]*)</b>")]
    private static partial Regex ExercisePattern();

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

    /// <summary>
    /// Runs the notebook and records what it drew. <paramref name="environment"/> adds variables to the kernel's
    /// environment (the stand-in weights of <see cref="StandInWeights"/>, for example). The kernel starts in the
    /// notebook's folder, or in <paramref name="workingDirectory"/> for a notebook written elsewhere (a notebook
    /// with its solutions, see <see cref="Solutions"/>).
    /// </summary>
    public static NotebookResult Execute(string notebookPath, string artifactsRoot, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null,
        string? workingDirectory = null)
    {
        var name = Path.GetFileNameWithoutExtension(notebookPath);
        var outputFolder = FreshFolder(Path.Combine(artifactsRoot, name));
        var executed = Path.Combine(outputFolder, name + ".ipynb");
        var (seconds, peak, errors) = RunKernel(notebookPath, workingDirectory ?? Path.GetDirectoryName(Path.GetFullPath(notebookPath))!,
            executed, outputFolder, timeout, environment);

        var figures = new List<SavedFigure>();
        var charts = new List<SavedChart>();
        var exercises = new List<ExerciseOutcome>();
        if (File.Exists(executed))
        {
            var notebook = JsonNode.Parse(File.ReadAllText(executed))!;
            foreach (var figure in FiguresIn(notebook))
                figures.Add(new(SaveFile(outputFolder, figure.Slug, ".png", figure.Png), figure.Title));
            foreach (var html in HtmlOutputs(notebook))
                if (SaveChart(outputFolder, html) is { } chart)
                    charts.Add(chart);
            exercises.AddRange(ExercisesIn(notebook));
        }
        var result = new NotebookResult(name, TitleOf(notebookPath), errors.Count == 0, seconds, peak, figures, errors, charts, exercises);
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
        var (seconds, _, errors) = RunKernel(generated, Path.GetDirectoryName(Path.GetFullPath(notebookPath))!, executed, outputFolder, timeout, null);
        var megabytes = File.Exists(executed)
            ? Outputs(JsonNode.Parse(File.ReadAllText(executed))!).SelectMany(TextOf)
                .Select(text => RerunPattern().Match(text)).Where(m => m.Success)
                .Select(m => long.Parse(m.Groups["bytes"].Value) / 1e6).ToList()
            : [];
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
    /// Runs a notebook in a fresh dotnet-repl kernel started in <paramref name="workingDirectory"/>, with
    /// <paramref name="environment"/> added to its environment, writing the executed notebook to <paramref name="executed"/>
    /// and the kernel's output to kernel.log; returns the time, the kernel's peak resident memory and the errors (cells
    /// that failed, a time-out, a kernel that wrote nothing).
    /// </summary>
    static (double Seconds, long? PeakBytes, List<string> Errors) RunKernel(string notebookPath, string workingDirectory, string executed,
        string outputFolder, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment)
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
        foreach (var (variable, value) in environment ?? new Dictionary<string, string>())
            start.Environment[variable] = value;

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

        if (File.Exists(executed))
            errors.AddRange(ErrorsIn(JsonNode.Parse(File.ReadAllText(executed))!));
        else
            errors.Add("The kernel wrote no executed notebook; see kernel.log.");
        if (process.HasExited && process.ExitCode != 0 && errors.Count == 0)
            errors.Add($"dotnet-repl exited with code {process.ExitCode}; see kernel.log.");
        return (seconds, memory.PeakBytes, errors);
    }

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

    /// <summary>The errors an executed notebook (of any front-end: dotnet-repl, Jupyter) shows, as "name: message".</summary>
    public static IEnumerable<string> ErrorsIn(JsonNode notebook) =>
        Outputs(notebook).Where(o => o["output_type"]?.GetValue<string>() == "error").Select(o => $"{o["ename"]}: {o["evalue"]}");

    /// <summary>The figures an executed notebook shows inline, in order.</summary>
    public static IEnumerable<InlineFigure> FiguresIn(JsonNode notebook) =>
        from html in HtmlOutputs(notebook)
        from Match match in FigurePattern().Matches(html)
        select new InlineFigure(match.Groups["slug"].Value, WebUtility.HtmlDecode(match.Groups["title"].Value), Convert.FromBase64String(match.Groups["png"].Value));

    /// <summary>The verdicts the notebook's exercise checks showed (Exercise.cs writes them with a data-exercise attribute), with their cells.</summary>
    public static IEnumerable<ExerciseOutcome> ExercisesIn(JsonNode notebook)
    {
        var cells = notebook["cells"]!.AsArray();
        for (int cell = 0; cell < cells.Count; cell++)
            foreach (var output in cells[cell]!["outputs"]?.AsArray() ?? [])
                foreach (var html in HtmlOf(output!))
                    foreach (Match match in ExercisePattern().Matches(html))
                        yield return new(cell, WebUtility.HtmlDecode(match.Groups["title"].Value), match.Groups["status"].Value);
    }

    static IEnumerable<JsonNode> Outputs(JsonNode notebook) =>
        notebook["cells"]!.AsArray().SelectMany(cell => cell!["outputs"]?.AsArray() ?? []).Select(output => output!);

    static IEnumerable<string> HtmlOutputs(JsonNode notebook) => Outputs(notebook).SelectMany(HtmlOf);

    static IEnumerable<string> HtmlOf(JsonNode output)
    {
        var html = output["data"]?["text/html"];
        if (html is JsonArray lines)
            yield return string.Concat(lines.Select(l => l!.GetValue<string>()));
        else if (html is JsonValue value)
            yield return value.GetValue<string>();
    }

    /// <summary>
    /// Saves an output that is an interactive chart (Charts.InlineHtml) as a page of its own, named after the chart's title;
    /// returns null for any other output.
    /// </summary>
    public static SavedChart? SaveChart(string folder, string html)
    {
        var chart = ChartPattern().Match(html);
        if (!chart.Success)
            return null;
        var title = WebUtility.HtmlDecode(chart.Groups["title"].Value);
        var page = $"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{WebUtility.HtmlEncode(title)}</title></head>\n" +
                   $"<body style=\"margin:0\">\n{html}\n</body></html>\n";
        var file = SaveFile(folder, chart.Groups["slug"].Value, ".html", System.Text.Encoding.UTF8.GetBytes(page));
        return new(file, title, int.Parse(chart.Groups["width"].Value), int.Parse(chart.Groups["height"].Value));
    }

    /// <summary>Writes a figure or chart as slug + extension, numbering it when the name is taken; returns the name without extension.</summary>
    static string SaveFile(string folder, string slug, string extension, byte[] content)
    {
        slug = Figure.MakeSlug(slug);
        var path = Path.Combine(folder, slug + extension);
        for (int n = 2; File.Exists(path); n++)
            path = Path.Combine(folder, $"{slug}-{n}{extension}");
        File.WriteAllBytes(path, content);
        return Path.GetFileNameWithoutExtension(path);
    }
}
