using System.Diagnostics;

namespace WhatNetworksLearn.Tests;

/// <summary>
/// A clone of the kit's committed HEAD in a new temporary folder whose path contains a space, as a student's first
/// download would be: nothing built, no lib/bin, no kit.settings. Commands run in it see neither KIT_LIB_PREBUILT nor
/// TorchBackend from the test's own environment. Deleted on dispose.
/// </summary>
sealed class FreshClone : IDisposable
{
    readonly string parent = Directory.CreateTempSubdirectory("fresh-").FullName;

    public FreshClone()
    {
        Folder = Path.Combine(parent, "kit clone");
        var root = Kit.Root(AppContext.BaseDirectory);
        var (exit, output) = RunIn(parent, "git", ["clone", "--quiet", root, Folder]);
        Assert.True(exit == 0, $"git clone of {root} failed:\n{output}");
    }

    /// <summary>The clone's root (the folder with Course.sln).</summary>
    public string Folder { get; }

    /// <summary>A scratch folder beside the clone, outside its work tree.</summary>
    public string Scratch(string name) => Directory.CreateDirectory(Path.Combine(parent, name)).FullName;

    /// <summary>What <c>git status --porcelain</c> lists: empty when every file is as committed and nothing untracked is unignored.</summary>
    public string GitStatus()
    {
        var (exit, output) = Run("git", ["status", "--porcelain"], Folder);
        Assert.Equal(0, exit);
        return output.Trim();
    }

    /// <summary>Runs a command in the clone (or in <paramref name="workingDirectory"/> inside it); returns its exit code and output.</summary>
    public (int ExitCode, string Output) Run(string file, string[] arguments, string? workingDirectory = null,
        IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null) =>
        RunIn(workingDirectory ?? Folder, file, arguments, environment, timeout);

    static (int ExitCode, string Output) RunIn(string workingDirectory, string file, string[] arguments,
        IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        start.Environment.Remove("KIT_LIB_PREBUILT");
        start.Environment.Remove("TorchBackend");
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        var limit = timeout ?? TimeSpan.FromMinutes(5);
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', arguments)} did not finish within {limit.TotalMinutes:F0} minutes.");
        }
        process.WaitForExit();
        return (process.ExitCode, output.Result + error.Result);
    }

    public void Dispose() => Directory.Delete(parent, recursive: true);
}
