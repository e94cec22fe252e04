using TorchSharp;
using WhatNetworksLearn.Notebook;
using WhatNetworksLearn.Platform;

namespace WhatNetworksLearn;

/// <summary>The kit's entry point: what a notebook's first cell calls, and the defaults every technique shares.</summary>
public static class Kit
{
    /// <summary>
    /// Makes TorchSharp loadable on this machine and registers the kit's notebook formatters.
    /// Safe to call again. Returns what it did, which a notebook shows as a table.
    /// </summary>
    public static List<Finding> Setup()
    {
        var findings = new List<Finding>();
        foreach (var result in ModuleStartup.NativeFixResults.Concat(TorchSharpNativeFix.Apply()).DistinctBy(r => r.Path))
            findings.Add(new("libLibTorchSharp.so", $"{result.Outcome}: {result.Path}"));
        Formatters.Register();
        findings.Add(new("Kit", $"ready, default device {DefaultDevice}"));
        return findings;
    }

    /// <summary>CUDA when a GPU is there, otherwise the CPU. Every technique takes the device as a parameter and defaults to this.</summary>
    public static torch.Device DefaultDevice => torch.cuda.is_available() ? torch.CUDA : torch.CPU;

    /// <summary>The kit's folder (the one holding Course.sln), found by walking up from a start folder.</summary>
    public static string Root(string? start = null)
    {
        var folder = new DirectoryInfo(start ?? Directory.GetCurrentDirectory());
        for (var f = folder; f is not null; f = f.Parent)
            if (File.Exists(Path.Combine(f.FullName, "Course.sln")))
                return f.FullName;
        // Fall back to the library's own location: lib/bin/WhatNetworksLearn.dll lies two levels below the root.
        var fromAssembly = new DirectoryInfo(AppContext.BaseDirectory);
        for (var f = fromAssembly; f is not null; f = f.Parent)
            if (File.Exists(Path.Combine(f.FullName, "Course.sln")))
                return f.FullName;
        throw new DirectoryNotFoundException($"Could not find the kit's folder (the one with Course.sln) above {folder.FullName}.");
    }

    /// <summary>A path inside the kit's data folder.</summary>
    public static string DataPath(params string[] parts) => Path.Combine([Root(), "data", .. parts]);
}

/// <summary>Applies the native fix as soon as the library loads, before any of its code can touch TorchSharp.</summary>
static class ModuleStartup
{
    /// <summary>What the fix did when the library loaded, so that <see cref="Kit.Setup"/> can report it.</summary>
    internal static IReadOnlyList<TorchSharpNativeFix.FileResult> NativeFixResults { get; private set; } = [];

#pragma warning disable CA2255 // Deliberate: the fix must run before any caller's first use of TorchSharp.
    [System.Runtime.CompilerServices.ModuleInitializer]
    internal static void ApplyNativeFix() => NativeFixResults = TorchSharpNativeFix.Apply();
#pragma warning restore CA2255
}
