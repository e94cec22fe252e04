using System.Text.RegularExpressions;

namespace WhatNetworksLearn.Platform;

/// <summary>A setting's value and where it came from: the environment variable, kit.settings, or the default.</summary>
public sealed record Setting(string Name, string Value, string Source);

/// <summary>
/// This machine's own choices, kept in kit.settings at the kit's root, a file git ignores: lines <c>Name=value</c>, the first
/// line of a name counts, and a line starting with # is a comment. The build reads the same file (Directory.Packages.props);
/// an environment variable of the same name overrides it. Today it holds one choice, <see cref="TorchBackend"/>.
/// </summary>
public static class LocalSettings
{
    public const string FileName = "kit.settings";

    /// <summary>cpu (the default) or cuda: which TorchSharp the build references (README, "Using a GPU").</summary>
    public static Setting TorchBackend(string? root = null) => Read("TorchBackend", "cpu", root);

    public static Setting Read(string name, string fallback, string? root = null)
    {
        var fromEnvironment = Environment.GetEnvironmentVariable(name);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
            return new(name, fromEnvironment.Trim(), $"the environment variable {name}");
        var path = SettingsFile(root);
        if (path is not null && File.Exists(path))
            foreach (var line in File.ReadLines(path))
                if (Regex.Match(line, $@"^[ \t]*{Regex.Escape(name)}[ \t]*=[ \t]*(\S+)") is { Success: true } match)
                    return new(name, match.Groups[1].Value, path);
        return new(name, fallback, "the default");
    }

    static string? SettingsFile(string? root)
    {
        try
        {
            return Path.Combine(root ?? Kit.Root(), FileName);
        }
        catch (DirectoryNotFoundException)
        {
            return null;   // lib used outside the kit's folder: only environment variables and defaults apply
        }
    }
}
