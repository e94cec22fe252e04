using WhatNetworksLearn.Adversarial;
using WhatNetworksLearn.Classical;
using WhatNetworksLearn.Features;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Synthesis;
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

    public static TheoryData<string> TechniqueNames() => new(Techniques.OnImages.Keys);

    [Theory]
    [MemberData(nameof(TechniqueNames))]
    public void Leaves_no_tensor_alive(string technique)
    {
        using var image = rand(1, 1, 28, 28, generator: new Generator(3));
        AssertNoGrowth(() => Techniques.OnImages[technique](model, image));
    }

    [Fact]
    public void Techniques_that_start_from_no_image_leave_no_tensor_alive()
    {
        AssertNoGrowth(() => FoolingImages.ByGradientAscent(model, [0, 1], new GradientFoolingOptions(Steps: 2)).Dispose());
        AssertNoGrowth(() => FoolingImages.ByEvolution(model, [0, 1], new EvolutionOptions(Generations: 2, Population: 4)).Dispose());
        AssertNoGrowth(() => FoolingImages.ByEvolution(model, [0, 1], new EvolutionOptions(Generations: 2, Population: 4, Encoding: GenomeEncoding.Cppn)).Dispose());
        using var images = rand(10, 1, 28, 28, generator: new Generator(5));
        using var labels = arange(10L);
        AssertNoGrowth(() =>
        {
            using var hog = HogClassifier.Train(images, labels, Data.FashionMnist.ClassNames);
            using var scores = hog.Model.Forward(images);
        });
    }

    [Fact]
    public void Class_models_feature_visualisation_and_tsne_leave_no_tensor_alive()
    {
        AssertNoGrowth(() => ActivationMaximization.ClassModels(model, [0, 1], new MaximizationOptions(Steps: 3)).Dispose());
        foreach (var basis in new[] { ImageBasis.Fourier, ImageBasis.Pixels })   // Adam's memory included
            AssertNoGrowth(() => FeatureVisualization.Classes(model, [0, 1], new FeatureVisualizationOptions(Steps: 3, Basis: basis, Pad: 2)).Dispose());
        using var points = rand(60, 8, generator: new Generator(4));
        AssertNoGrowth(() => Tsne.Embed(points, new TsneOptions(Perplexity: 10, Iterations: 20)));
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
