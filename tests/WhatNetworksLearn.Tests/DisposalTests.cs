using Catalogue;
using WhatNetworksLearn.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

/// <summary>
/// Every technique disposes the tensors it makes: a student who reruns a cell twenty times must not see memory
/// grow. TorchSharp counts the tensors alive on this thread; after a warm-up run (which may fill caches), further
/// runs must leave that count where it was.
/// </summary>
public sealed class DisposalTests : IDisposable
{
    readonly VisionModel model = FashionCnn.Load(CPU);

    public static TheoryData<string> TechniquesOnImages() => new(Techniques.All.Where(t => t.OnImages is not null).Select(t => t.Name));

    public static TheoryData<string> TechniquesFromNothing() => new(Techniques.All.Where(t => t.FromNothing is not null).Select(t => t.Name));

    [Theory]
    [MemberData(nameof(TechniquesOnImages))]
    public void Leaves_no_tensor_alive(string technique)
    {
        using var image = rand(1, 1, 28, 28, generator: new Generator(3));
        var run = Techniques.All.Single(t => t.Name == technique).OnImages!;
        AssertNoGrowth(() => run(model, image));
    }

    [Theory]
    [MemberData(nameof(TechniquesFromNothing))]
    public void Techniques_that_start_from_no_image_leave_no_tensor_alive(string technique)
    {
        var run = Techniques.All.Single(t => t.Name == technique).FromNothing!;
        AssertNoGrowth(() => run(model));
    }

    static void AssertNoGrowth(Action run)
    {
        run();
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        run();
        run();
        long after = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Assert.True(after == before, $"{after - before} tensor(s) were left alive by two more runs.");
    }

    public void Dispose() => model.Dispose();
}
