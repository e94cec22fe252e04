using TorchSharp;
using WhatNetworksLearn.Data;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Platform;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

/// <summary>Loading a model or data again in one process reuses what is in memory, and disposing one holder's copy is safe for the others.</summary>
public class SharedLoadsTests
{
    const string FashionKey = "model fashion-cnn on CPU:-1";

    [Fact]
    public void A_model_loaded_twice_shares_one_network_until_the_last_holder_disposes_it()
    {
        using var scope = NewDisposeScope();
        using var image = rand(2, 1, 28, 28, generator: new Generator(1));
        var first = ModelRegistry.Load("fashion-cnn", CPU);
        var leases = SharedLoads.Leases(FashionKey);
        var second = ModelRegistry.Load("fashion-cnn", CPU);
        Assert.NotSame(first, second);
        Assert.Same(first.Network, second.Network);
        Assert.Equal(leases + 1, SharedLoads.Leases(FashionKey));
        var expected = first.Forward(image);

        // One holder disposing (twice, even) gives back one lease and leaves the other's model working.
        first.Dispose();
        first.Dispose();
        Assert.Equal(leases, SharedLoads.Leases(FashionKey));
        Assert.Equal(0, (second.Forward(image) - expected).abs().max().ToSingle());
        second.Dispose();
        Assert.Equal(leases - 1, SharedLoads.Leases(FashionKey));

        // Once no lease is out, the next load reads the file again: a new network with the same weights.
        if (leases == 1)
        {
            using var third = ModelRegistry.Load("fashion-cnn", CPU);
            Assert.NotSame(second.Network, third.Network);
            Assert.Equal(0, (third.Forward(image) - expected).abs().max().ToSingle());
        }
    }

    /// <summary>
    /// Whether two tensors are views of one memory: changing one in place, exactly reversibly (doubling floats, adding
    /// one to integers), changes the other's sum by as much.
    /// </summary>
    static bool ShareMemory(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var floating = a.is_floating_point();
        var before = b.to_type(ScalarType.Float64).sum().ToDouble();
        if (floating) a.mul_(2); else a.add_(1);
        try
        {
            var after = b.to_type(ScalarType.Float64).sum().ToDouble();
            return floating ? after == 2 * before && before != 0 : after == before + b.numel();
        }
        finally
        {
            if (floating) a.div_(2); else a.sub_(1);
        }
    }

    [Fact]
    public void Data_loaded_twice_shares_its_memory_and_each_holder_may_dispose_its_own()
    {
        var first = FashionMnist.LoadSample(50);
        var second = FashionMnist.LoadSample(50);
        Assert.True(ShareMemory(first.Images, second.Images));
        Assert.True(ShareMemory(first.Labels, second.Labels));
        var expected = second.Images.sum().ToSingle();
        first.Dispose();
        Assert.Equal(expected, second.Images.sum().ToSingle());
        second.Dispose();
        using var third = FashionMnist.LoadSample(50);
        Assert.Equal(expected, third.Images.sum().ToSingle());
    }

    [Fact]
    public void A_photo_loaded_twice_shares_its_memory_until_its_file_changes()
    {
        var path = Path.Combine(Path.GetTempPath(), $"shared-{Guid.NewGuid():N}.png");
        try
        {
            using (var grey = full(3, 4, 5, 0.5f))
                ImageFiles.SavePng(grey, path);
            using var first = ImageFiles.Load(path);
            using (var again = ImageFiles.Load(path))
                Assert.True(ShareMemory(first, again));
            Assert.Equal(128 / 255f, first[0, 0, 0].ToSingle(), 1e-6f);

            using (var white = ones(3, 4, 6))
                ImageFiles.SavePng(white, path);
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(1));
            using var changed = ImageFiles.Load(path);
            Assert.Equal([3L, 4, 6], changed.shape);
            Assert.Equal(1f, changed.min().ToSingle());
            Assert.Equal([3L, 4, 5], first.shape);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
