using WhatNetworksLearn.Platform;

namespace WhatNetworksLearn.Tests;

/// <summary>
/// The GPU switch: a machine chooses TorchSharp's CPU or CUDA build in kit.settings (untracked), an environment variable
/// overrides it, the build and the kit read it alike, and no choice rewrites a tracked file. The CUDA build itself is not
/// served to this machine's NuGet, so its path is checked up to the package list and the environment check's advice.
/// </summary>
public class TorchBackendTests
{
    const string Project = "lib/WhatNetworksLearn.csproj";

    [Theory]
    [InlineData(null, null, "cpu")]
    [InlineData("TorchBackend=cuda\n", null, "cuda")]
    [InlineData("# The lab's machines have GPUs\r\n  TorchBackend = cuda\r\n", null, "cuda")]
    [InlineData("# TorchBackend=cuda\n", null, "cpu")]
    [InlineData("TorchBackend=cuda\n", "cpu", "cpu")]
    public void The_build_and_the_kit_read_the_same_choice(string? settings, string? environmentVariable, string expected)
    {
        using var clone = new FreshClone();
        if (settings is not null)
            File.WriteAllText(Path.Combine(clone.Folder, LocalSettings.FileName), settings);
        var environment = environmentVariable is null ? null : new Dictionary<string, string> { ["TorchBackend"] = environmentVariable };

        var (exit, output) = clone.Run("dotnet", ["msbuild", Project, "-getProperty:TorchBackend"], environment: environment);
        Assert.True(exit == 0, output);
        Assert.Equal(expected, output.Trim());

        var previous = Environment.GetEnvironmentVariable("TorchBackend");
        try
        {
            Environment.SetEnvironmentVariable("TorchBackend", environmentVariable);
            Assert.Equal(expected, LocalSettings.TorchBackend(clone.Folder).Value);
        }
        finally
        {
            Environment.SetEnvironmentVariable("TorchBackend", previous);
        }
    }

    [Fact]
    public void Choosing_cuda_changes_the_notebooks_packages_and_no_tracked_file()
    {
        using var clone = new FreshClone();
        File.WriteAllText(Path.Combine(clone.Folder, LocalSettings.FileName), "TorchBackend=cuda\n");

        // The package list alone: the CUDA build cannot be restored here, and the list needs no restore.
        var (exit, output) = clone.Run("dotnet", ["msbuild", Project, "-t:WriteNotebookPackages", "-nologo"]);
        Assert.True(exit == 0, output);

        var packages = File.ReadAllText(Path.Combine(clone.Folder, "lib", "bin", "notebook-packages.dib"));
        Assert.Contains("#r \"nuget: TorchSharp-cuda-linux, 0.107.0\"", packages);
        Assert.DoesNotContain("TorchSharp-cpu", packages);
        Assert.Equal("", clone.GitStatus());
    }

    [Fact]
    public void An_unknown_backend_stops_the_build_with_the_places_it_may_come_from()
    {
        using var clone = new FreshClone();
        File.WriteAllText(Path.Combine(clone.Folder, LocalSettings.FileName), "TorchBackend=gpu\n");

        var (exit, output) = clone.Run("dotnet", ["msbuild", Project, "-t:WriteNotebookPackages", "-nologo"]);

        Assert.NotEqual(0, exit);
        Assert.Contains("TorchBackend is 'gpu'; it must be cpu or cuda", output);
        Assert.Contains(LocalSettings.FileName, output);
    }

    [Fact]
    public void The_environment_check_says_what_to_do_when_the_cuda_build_cannot_be_restored()
    {
        using var clone = new FreshClone();
        File.WriteAllText(Path.Combine(clone.Folder, LocalSettings.FileName), "TorchBackend=cuda\n");
        // Restore from an empty source, so that TorchSharp-cuda-linux is missing on every machine (packages already in the
        // NuGet cache still restore): the check must then fail with advice instead of downloading gigabytes.
        var environment = new Dictionary<string, string> { ["RestoreSources"] = clone.Scratch("empty-nuget-source") };

        var (exit, output) = clone.Run("bash", ["environment/check.sh"], environment: environment, timeout: TimeSpan.FromMinutes(10));

        Assert.Equal(1, exit);
        Assert.Contains("TorchSharp-cuda-linux", output);
        Assert.Contains("CUDA was chosen (TorchBackend=cuda) and the CUDA build of TorchSharp could not be restored", output);
        Assert.Contains("remove the line", output);
    }

    [Fact]
    public void Cuda_chosen_without_a_cuda_device_is_a_problem_with_advice()
    {
        var problem = Assert.Single(EnvironmentCheck.Backend(new("TorchBackend", "cuda", "/kit/kit.settings"), cudaAvailable: false));
        Assert.True(problem.Problem);
        Assert.Equal("cuda (from /kit/kit.settings)", problem.Value);
        Assert.Contains("nvidia-smi", problem.Advice);
        Assert.Contains("remove the line TorchBackend=cuda from kit.settings", problem.Advice);

        Assert.DoesNotContain(EnvironmentCheck.Backend(new("TorchBackend", "cuda", "kit.settings"), cudaAvailable: true), f => f.Problem);
        Assert.DoesNotContain(EnvironmentCheck.Backend(new("TorchBackend", "cpu", "the default"), cudaAvailable: false), f => f.Problem);
    }
}
