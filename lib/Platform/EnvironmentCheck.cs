using System.Diagnostics;
using TorchSharp;

namespace WhatNetworksLearn.Platform;

/// <summary>One finding of the environment check: what was looked at, what was found, and whether it is a problem.</summary>
public sealed record Finding(string Item, string Value, bool Problem = false, string? Advice = null);

/// <summary>Looks at what the kit depends on and says what is wrong and how to fix it.</summary>
public static class EnvironmentCheck
{
    /// <summary>Facts about the machine that can be read without loading TorchSharp's native code.</summary>
    public static List<Finding> BeforeTorch()
    {
        var findings = new List<Finding>
        {
            new("Operating system", System.Runtime.InteropServices.RuntimeInformation.OSDescription),
            new(".NET", System.Environment.Version.ToString()),
            new("Cores", System.Environment.ProcessorCount.ToString()),
        };
        if (OperatingSystem.IsLinux())
        {
            bool hasVersion = TorchSharpNativeFix.SystemLibStdCxxHas(TorchSharpNativeFix.MissingVersion);
            findings.Add(new("libstdc++ has " + TorchSharpNativeFix.MissingVersion, hasVersion ? "yes" : "no: the kit patches libLibTorchSharp.so (environment/README.md)"));
            foreach (var library in ForeignLibTorch())
                findings.Add(new("Foreign libtorch on the loader's path", library, Problem: true,
                    Advice: "TorchSharp may load this libtorch instead of its own and fail. Remove the package that installed it " +
                            $"(find it with `dpkg -S {library}`; Debian's is libtorch-dev, pulled in by python3-torch's recommendations: " +
                            "`apt-get remove libtorch-dev`), or take its folder out of LD_LIBRARY_PATH."));
        }
        return findings;
    }

    /// <summary>The native backend as loaded: version, device, threads. Loads TorchSharp (after the native fix).</summary>
    public static List<Finding> Torch()
    {
        var findings = new List<Finding>
        {
            new("TorchSharp", typeof(torch).Assembly.GetName().Version?.ToString(3) ?? "?"),
            new("LibTorch", torch.__version__),
            new("CUDA available", torch.cuda.is_available() ? $"yes, {torch.cuda.device_count()} device(s)" : "no"),
            new("Default device", Kit.DefaultDevice.ToString()),
            new("Torch threads", torch.get_num_threads().ToString()),
        };
        if (TorchSharpNativeFix.LoadedLibrary(name => name == "libtorch_cpu.so") is { } path)
            findings.Add(new("libtorch loaded from", path));
        findings.AddRange(Backend(LocalSettings.TorchBackend(), torch.cuda.is_available()));
        return findings;
    }

    /// <summary>The TorchSharp build this machine chose (kit.settings or TorchBackend), and what to do when CUDA was chosen but is not there.</summary>
    public static List<Finding> Backend(Setting chosen, bool cudaAvailable)
    {
        var finding = new Finding("TorchSharp build chosen", $"{chosen.Value} (from {chosen.Source})");
        if (chosen.Value == "cuda" && !cudaAvailable)
            finding = finding with
            {
                Problem = true,
                Advice = "CUDA was chosen but TorchSharp finds no CUDA device, so the kit computes on the CPU. With an NVIDIA GPU: check that " +
                         "`nvidia-smi` lists it, then rebuild (`dotnet build lib`) and restart the notebook's kernel, so that TorchSharp-cuda-linux " +
                         $"is the build loaded. Without one, go back to the CPU: remove the line TorchBackend=cuda from {LocalSettings.FileName} " +
                         "(or unset the environment variable TorchBackend) and rebuild. (The kit's CUDA path is untested; README, \"Using a GPU\".)",
            };
        return [finding];
    }

    /// <summary>libtorch libraries that the dynamic loader would find outside TorchSharp's own packages.</summary>
    public static List<string> ForeignLibTorch()
    {
        var found = new List<string>();
        foreach (var folder in (System.Environment.GetEnvironmentVariable("LD_LIBRARY_PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(folder, "libtorch.so");
            if (File.Exists(candidate))
                found.Add(candidate);
        }
        found.AddRange(LoaderCacheEntries().Where(path => Path.GetFileName(path) is "libtorch.so" or "libtorch_cpu.so"));
        return found.Distinct().ToList();
    }

    static IEnumerable<string> LoaderCacheEntries()
    {
        var ldconfig = new[] { "/sbin/ldconfig", "/usr/sbin/ldconfig" }.FirstOrDefault(File.Exists);
        if (ldconfig is null)
            return [];
        try
        {
            using var process = Process.Start(new ProcessStartInfo(ldconfig, "-p") { RedirectStandardOutput = true, UseShellExecute = false })!;
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            // Lines look like: "\tlibtorch.so (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libtorch.so"
            return output.Split('\n').Select(line => line.Split("=>")).Where(parts => parts.Length == 2).Select(parts => parts[1].Trim()).ToList();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return [];
        }
    }
}
