using System.Diagnostics;
using NotebookRunner;
using TorchSharp.PyBridge;
using WhatNetworksLearn.Data;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

/// <summary>
/// The decision every ImageNet figure depends on (verified weights in the cache, else the offline version with a line
/// saying how to get them; stand-ins only under the test setting, always announced) and the command that fetches the
/// weights, tested on files made here and a loopback server, never the internet.
/// </summary>
public class ImageNetClassifierTests : IDisposable
{
    readonly string folder = Directory.CreateTempSubdirectory("kit-imagenet-").FullName;
    readonly List<Note> notes = [];
    static readonly TorchVisionModels.Architecture ResNet18 = TorchVisionModels.Find("resnet18");

    public void Dispose() => Directory.Delete(folder, recursive: true);

    /// <summary>A state dict of ResNet-18 with seeded random weights, and the network it came from.</summary>
    static string SaveRandomResNet18(string path, int seed)
    {
        manual_seed(seed);
        using var network = ResNet18.Create();
        network.save_py(path);
        return path;
    }

    /// <summary>ResNet-18 under a file name whose SHA-256 prefix matches the file, as the official names do.</summary>
    TorchVisionModels.Architecture WithOwnChecksum(string statedict)
    {
        var prefix = Downloads.Sha256(statedict)[..8];
        return ResNet18 with { WeightsFile = $"resnet18-{prefix}.pth" };
    }

    [Fact]
    public void Without_weights_in_the_cache_it_returns_null_and_says_how_to_get_them()
    {
        var model = ImageNetClassifier.FromCache(ResNet18, folder, standInFolder: null, CPU, notes.Add);
        Assert.Null(model);
        var note = Assert.Single(notes);
        Assert.Equal(NoteKind.Information, note.Kind);
        Assert.Contains("./environment/fetch-models.sh resnet18", note.Text);
        Assert.Contains(Path.Combine(folder, "torchvision", "resnet18-f37072fd.pth"), note.Text);
    }

    [Fact]
    public void Verified_weights_in_the_cache_load_as_the_official_model_without_a_warning()
    {
        var saved = SaveRandomResNet18(Path.Combine(folder, "made.pth"), seed: 3);
        var architecture = WithOwnChecksum(saved);
        var cached = Path.Combine(folder, "torchvision", architecture.WeightsFile);
        Directory.CreateDirectory(Path.GetDirectoryName(cached)!);
        File.Copy(saved, cached);

        using var model = ImageNetClassifier.FromCache(architecture, folder, standInFolder: null, CPU, notes.Add);
        Assert.NotNull(model);
        Assert.Empty(notes);
        Assert.Equal(architecture.Description, model.Description);
        using var reference = TorchVisionModels.Load("resnet18", CPU, weightsPath: saved);
        using var input = rand(1, 3, 224, 224);
        using var expected = reference.Forward(input);
        using var actual = model.Forward(input);
        Assert.True(actual.allclose(expected, atol: 1e-6));
    }

    [Fact]
    public void A_damaged_cached_file_is_refused_with_a_warning_and_the_notebook_goes_on_offline()
    {
        var cached = ResNet18.CachePathIn(folder);
        Directory.CreateDirectory(Path.GetDirectoryName(cached)!);
        SaveRandomResNet18(cached, seed: 3);   // a valid state dict, but not the official bytes
        var model = ImageNetClassifier.FromCache(ResNet18, folder, standInFolder: null, CPU, notes.Add);
        Assert.Null(model);
        var note = Assert.Single(notes);
        Assert.Equal(NoteKind.Warning, note.Kind);
        Assert.Contains("Checksum mismatch", note.Text);
        Assert.Contains("f37072fd", note.Text);
        Assert.Contains("fetch-models.sh resnet18", note.Text);
    }

    [Fact]
    public void Stand_in_weights_load_only_with_the_announcement_and_never_pass_for_the_real_model()
    {
        var standIns = StandInWeights.Create(Path.Combine(folder, "stand-ins"));
        using var model = ImageNetClassifier.FromCache(ResNet18, Path.Combine(folder, "empty-cache"), standIns, CPU, notes.Add);
        Assert.NotNull(model);
        var note = Assert.Single(notes);
        Assert.Equal(NoteKind.Warning, note.Kind);
        Assert.StartsWith("Stand-in weights: the figures are meaningless.", note.Text);
        Assert.Contains("STAND-IN", model.Description);
        Assert.DoesNotContain("ImageNet weights", model.Description);
        Assert.True(model.HasStandInWeights);

        // The stand-in is the seeded random network the tests made, and the same every time.
        manual_seed(StandInWeights.Seed);
        using var expectedNetwork = ResNet18.Create();
        expectedNetwork.eval();
        using var input = rand(1, 3, 224, 224);
        using var normalized = (input - tensor(TorchVisionModels.Input.Mean).reshape(1, 3, 1, 1)) / tensor(TorchVisionModels.Input.Std).reshape(1, 3, 1, 1);
        using var expected = expectedNetwork.forward(normalized);
        using var actual = model.Forward(input);
        Assert.True(actual.allclose(expected, atol: 1e-5));
    }

    [Fact]
    public void Fetching_downloads_into_the_cache_and_checks_the_prefix()
    {
        var saved = SaveRandomResNet18(Path.Combine(folder, "served.pth"), seed: 4);
        var architecture = WithOwnChecksum(saved);
        using var server = new DownloadTests.Server();
        var url = server.Serve(architecture.WeightsFile, File.ReadAllBytes(saved));
        var cache = Path.Combine(folder, "cache");

        var path = TorchVisionModels.Fetch(architecture, url, cache);
        Assert.Equal(architecture.CachePathIn(cache), path);
        Assert.Equal(Downloads.Sha256(saved), Downloads.Sha256(path));
        TorchVisionModels.Fetch(architecture, url, cache);   // already there and verified: no second download
        Assert.Equal(1, server.Requests);

        // A file that is not the one its name promises is deleted, and nothing is left in the cache.
        var other = server.Serve("resnet18-f37072fd.pth", File.ReadAllBytes(saved));
        var error = Assert.Throws<InvalidDataException>(() => TorchVisionModels.Fetch(ResNet18, other, cache));
        Assert.Contains("Checksum mismatch", error.Message);
        Assert.False(File.Exists(ResNet18.CachePathIn(cache)));
    }

    /// <summary>Runs environment/fetch-models.sh with the kit's cache and mirror pointed at this test's folder and server.</summary>
    (int ExitCode, string Output) RunFetchCommand(string mirror, params string[] names)
    {
        var start = new ProcessStartInfo(Path.Combine(Kit.Root(AppContext.BaseDirectory), "environment", "fetch-models.sh"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var name in names)
            start.ArgumentList.Add(name);
        start.Environment["KIT_CACHE"] = Path.Combine(folder, "script-cache");
        start.Environment[TorchVisionModels.MirrorVariable] = mirror;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return (process.ExitCode, output.Result + error.Result);
    }

    [Fact]
    public void The_fetch_command_offline_names_the_url_and_the_path_to_place_the_file_at()
    {
        var unreachable = DownloadTests.Server.Unreachable("models/");
        var (exitCode, output) = RunFetchCommand(unreachable.ToString(), "alexnet");
        Assert.Equal(1, exitCode);
        Assert.Contains(new Uri(unreachable, "alexnet-owt-7be5be79.pth").ToString(), output);
        Assert.Contains(Path.Combine(folder, "script-cache", "torchvision", "alexnet-owt-7be5be79.pth"), output);
        Assert.Contains("place it at", output);
    }

    [Fact]
    public void The_fetch_command_refuses_a_file_that_fails_its_checksum_and_leaves_the_cache_empty()
    {
        using var server = new DownloadTests.Server();
        server.Serve("resnet18-f37072fd.pth", new byte[5000]);
        var (exitCode, output) = RunFetchCommand(server.BaseUri.ToString());   // no name: resnet18
        Assert.Equal(1, exitCode);
        Assert.Contains("Checksum mismatch", output);
        Assert.Contains("resnet18: not fetched", output);
        Assert.False(File.Exists(Path.Combine(folder, "script-cache", "torchvision", "resnet18-f37072fd.pth")));
    }
}
