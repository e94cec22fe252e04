using System.Diagnostics;

namespace NotebookRunner;

/// <summary>The kit's folders, and the set-up the runner does before any notebook runs.</summary>
public static class Workspace
{
    /// <summary>Longest a single notebook may run before the runner stops it.</summary>
    public static readonly TimeSpan NotebookTimeout = TimeSpan.FromMinutes(15);

    /// <summary>The notebooks, in the order of their numbers.</summary>
    public static List<string> Notebooks(string root) =>
        InNotebookOrder(Directory.GetFiles(Path.Combine(root, "notebooks"), "*.ipynb")).ToList();

    /// <summary>Notebook paths or artifact folders by number, 00-setup first (it checks that everything works).</summary>
    public static IEnumerable<string> InNotebookOrder(IEnumerable<string> paths) =>
        paths.OrderBy(path => Path.GetFileNameWithoutExtension(path) == "00-setup" ? 0 : 1).ThenBy(path => path, StringComparer.Ordinal);

    /// <summary>Restores the pinned dotnet-repl (.config/dotnet-tools.json); fails with its output if it cannot.</summary>
    public static void RestoreTools(string root)
    {
        var start = new ProcessStartInfo("dotnet", "tool restore")
        {
            WorkingDirectory = root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException("`dotnet tool restore` failed, so notebooks cannot run:\n" + output);
    }
}
