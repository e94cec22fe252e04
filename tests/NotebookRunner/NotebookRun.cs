using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using WhatNetworksLearn.Rendering;

namespace NotebookRunner;

/// <summary>A figure a notebook displayed, saved as <c>File</c>.png beside the executed notebook.</summary>
public sealed record SavedFigure(string File, string Title);

/// <summary>What one exercise check displayed: the cell (0-based, all cells counted), the exercise's title, and not-answered, correct or not-yet.</summary>
public sealed record ExerciseOutcome(int Cell, string Title, string Status);

/// <summary>
/// What running one notebook produced; also written as run.json in the notebook's artifacts folder, from which the
/// summary and the gallery are made. <c>PeakMemoryBytes</c> is the kernel's largest resident memory (null off Linux).
/// </summary>
public sealed record NotebookResult(
    string Name, string Title, bool Succeeded, double Seconds, long? PeakMemoryBytes, IReadOnlyList<SavedFigure> Figures, IReadOnlyList<string> Errors,
    IReadOnlyList<ExerciseOutcome> Exercises)
{
    public IEnumerable<string> FigureFiles => Figures.Select(f => f.File);
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
        var outputFolder = Path.Combine(artifactsRoot, name);
        if (Directory.Exists(outputFolder))
            Directory.Delete(outputFolder, recursive: true);
        Directory.CreateDirectory(outputFolder);
        var executed = Path.Combine(outputFolder, name + ".ipynb");

        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory ?? Path.GetDirectoryName(Path.GetFullPath(notebookPath))!,
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

        var figures = new List<SavedFigure>();
        var exercises = new List<ExerciseOutcome>();
        if (File.Exists(executed))
        {
            var cells = JsonNode.Parse(File.ReadAllText(executed))!["cells"]!.AsArray();
            for (int cell = 0; cell < cells.Count; cell++)
                foreach (var cellOutput in cells[cell]!["outputs"]?.AsArray() ?? [])
                {
                    if (cellOutput!["output_type"]?.GetValue<string>() == "error")
                        errors.Add($"{cellOutput["ename"]}: {cellOutput["evalue"]}");
                    foreach (var html in HtmlOf(cellOutput))
                    {
                        foreach (Match match in FigurePattern().Matches(html))
                            figures.Add(new(SaveFigure(outputFolder, match.Groups["slug"].Value, match.Groups["png"].Value),
                                WebUtility.HtmlDecode(match.Groups["title"].Value)));
                        foreach (Match match in ExercisePattern().Matches(html))
                            exercises.Add(new(cell, WebUtility.HtmlDecode(match.Groups["title"].Value), match.Groups["status"].Value));
                    }
                }
        }
        else
        {
            errors.Add("The kernel wrote no executed notebook; see kernel.log.");
        }
        if (process.HasExited && process.ExitCode != 0 && errors.Count == 0)
            errors.Add($"dotnet-repl exited with code {process.ExitCode}; see kernel.log.");
        var result = new NotebookResult(name, TitleOf(notebookPath), errors.Count == 0, seconds, memory.PeakBytes, figures, errors, exercises);
        File.WriteAllText(Path.Combine(outputFolder, RunFile), JsonSerializer.Serialize(result, JsonOptions));
        return result;
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
