using WhatNetworksLearn.Platform;

namespace WhatNetworksLearn.Tests;

public class EnvironmentCheckTests
{
    [Fact]
    public void A_libtorch_on_the_library_path_is_reported_with_advice()
    {
        var folder = Directory.CreateTempSubdirectory("foreign-libtorch-").FullName;
        var previous = Environment.GetEnvironmentVariable("LD_LIBRARY_PATH");
        try
        {
            File.WriteAllText(Path.Combine(folder, "libtorch.so"), "");
            Environment.SetEnvironmentVariable("LD_LIBRARY_PATH", folder);
            Assert.Contains(Path.Combine(folder, "libtorch.so"), EnvironmentCheck.ForeignLibTorch());
            var finding = Assert.Single(EnvironmentCheck.BeforeTorch(), f => f.Problem);
            Assert.Contains("libtorch-dev", finding.Advice);
        }
        finally
        {
            Environment.SetEnvironmentVariable("LD_LIBRARY_PATH", previous);
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void The_process_reports_the_libstdcxx_it_loaded()
    {
        var path = TorchSharpNativeFix.LoadedLibrary(name => name.StartsWith("libstdc++.so", StringComparison.Ordinal));
        Assert.NotNull(path);
        Assert.True(File.Exists(path));
    }
}
