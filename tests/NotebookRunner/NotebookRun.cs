using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using WhatNetworksLearn.Rendering;

namespace NotebookRunner;

/// <summary>What running one notebook produced.</summary>
public sealed record NotebookResult(
    string Name, bool Succeeded, double Seconds, IReadOnlyList<string> Figures, IReadOnlyList<string> Errors, string ExecutedNotebook);

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
    [GeneratedRegex("<figure data-figure=\"(?<slug>[^\"]+)\"[^>]*><img src=\"data:image/png;base64,(?<png>[^\"]+)\"")]
    private static partial Regex FigurePattern();

    public static NotebookResult Execute(string notebookPath, string artifactsRoot, TimeSpan timeout)
    {
        var name = Path.GetFileNameWithoutExtension(notebookPath);
        var outputFolder = Path.Combine(artifactsRoot, name);
        if (Directory.Exists(outputFolder))
            Directory.Delete(outputFolder, recursive: true);
        Directory.CreateDirectory(outputFolder);
        var executed = Path.Combine(outputFolder, name + ".ipynb");

        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(Path.GetFullPath(notebookPath))!,
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
        File.WriteAllText(Path.Combine(outputFolder, "kernel.log"), output.Result + error.Result);

        var figures = new List<string>();
        if (File.Exists(executed))
        {
            var notebook = JsonNode.Parse(File.ReadAllText(executed))!;
            foreach (var cellOutput in notebook["cells"]!.AsArray().SelectMany(cell => cell!["outputs"]?.AsArray() ?? []))
            {
                if (cellOutput!["output_type"]?.GetValue<string>() == "error")
                    errors.Add($"{cellOutput["ename"]}: {cellOutput["evalue"]}");
                foreach (var html in HtmlOf(cellOutput))
                    foreach (Match match in FigurePattern().Matches(html))
                        figures.Add(SaveFigure(outputFolder, match.Groups["slug"].Value, match.Groups["png"].Value));
            }
        }
        else
        {
            errors.Add("The kernel wrote no executed notebook; see kernel.log.");
        }
        if (process.HasExited && process.ExitCode != 0 && errors.Count == 0)
            errors.Add($"dotnet-repl exited with code {process.ExitCode}; see kernel.log.");
        File.WriteAllText(Path.Combine(outputFolder, "seconds.txt"), $"{seconds:F1}\n");
        return new NotebookResult(name, errors.Count == 0, seconds, figures, errors, executed);
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
