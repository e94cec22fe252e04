using WhatNetworksLearn.Adversarial;
using WhatNetworksLearn.Data;
using WhatNetworksLearn.Models;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

public class OnePixelTests(ITestOutputHelper output)
{
    /// <summary>
    /// A two-class model on 1 x 8 x 8 images in which only the pixel at row 5, column 3 matters: class 1 wins
    /// when that pixel is brighter than 0.5, class 0 otherwise.
    /// </summary>
    static VisionModel SinglePixelSwitch()
    {
        var linear = nn.Linear(64, 2);
        using (no_grad())
        {
            linear.weight!.zero_();
            linear.bias!.zero_();
            linear.weight[1, 5 * 8 + 3] = tensor(20f);
            linear.bias[1] = tensor(-10f);
        }
        var network = nn.Sequential(("flatten", nn.Flatten()), ("linear", linear));
        return new VisionModel("single-pixel-switch", "toy", network, new InputSpec(1, 8, 8, [0f], [1f]), ["dark", "bright"], null, CPU);
    }

    /// <summary>The number of positions per image where any channel differs.</summary>
    static long[] ChangedPositions(Tensor original, Tensor adversarial) =>
        adversarial.ne(original).any(1).flatten(1).sum(1).data<long>().ToArray();

    /// <summary>Correctly classified sample images; with <paramref name="leastConfident"/>, those the model is least sure of (the easiest to attack).</summary>
    static (VisionModel Model, Tensor Images, Tensor Labels) CorrectlyClassifiedFashion(int count, bool leastConfident = false)
    {
        var model = ModelRegistry.Load("fashion-cnn");
        var sample = FashionMnist.LoadSample(200);
        var (confidence, predicted) = model.Probabilities(sample.Images).cpu().max(1);
        var correct = predicted.eq(sample.Labels).nonzero().flatten();
        if (leastConfident)
            correct = correct[confidence[correct].argsort()];
        correct = correct[..count];
        return (model, sample.Images[correct], sample.Labels[correct]);
    }

    [Fact]
    public void FindsThePixelThatDecidesTheClass()
    {
        using var model = SinglePixelSwitch();
        var images = zeros(2, 1, 8, 8);
        var labels = tensor(new long[] { 0, 0 });
        using var result = new OnePixel(model, new OnePixelOptions(Population: 40, Iterations: 100, Seed: 3)).Attack(images, labels);
        Assert.Equal([true, true], result.Attack.Success.data<bool>().ToArray());
        foreach (var pixels in result.ChangedPixels)
            Assert.Equal(new ChangedPixel(3, 5), Assert.Single(pixels));
        Assert.True(result.Attack.Adversarial[0, 0, 5, 3].item<float>() > 0.5f);
        Assert.Equal([1L, 1L], ChangedPositions(images, result.Attack.Adversarial));
    }

    [Fact]
    public void TargetedAttackReachesTheTargetOnTheToyModel()
    {
        using var model = SinglePixelSwitch();
        var images = full(1, 1, 8, 8, 0.9f);   // bright: class 1
        using var result = new OnePixel(model, new OnePixelOptions(Population: 40, Iterations: 100, Seed: 1)).Attack(images, tensor(new long[] { 1 }), targets: 0);
        Assert.True(result.Attack.Success[0].item<bool>());
        Assert.Equal(new ChangedPixel(3, 5), Assert.Single(result.ChangedPixels[0]));
        Assert.True(result.Attack.Adversarial[0, 0, 5, 3].item<float>() < 0.5f);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void ChangesExactlyKPixelsAndReportsTheModelsPredictions(int k)
    {
        var (model, images, labels) = CorrectlyClassifiedFashion(4);
        using var result = new OnePixel(model, new OnePixelOptions(Pixels: k, Population: 30, Iterations: 5, Seed: 2)).Attack(images, labels);
        Assert.All(ChangedPositions(images, result.Attack.Adversarial), count => Assert.Equal(k, count));
        Assert.All(result.ChangedPixels, pixels => Assert.Equal(k, pixels.Count));
        // The reported pixels are the ones that differ.
        for (int i = 0; i < 4; i++)
            foreach (var p in result.ChangedPixels[i])
                Assert.True(result.Attack.Perturbation[i, 0, p.Y, p.X].abs().item<float>() > 0);
        var recomputed = model.Probabilities(result.Attack.Adversarial).cpu();
        Assert.Equal(recomputed.argmax(1).data<long>().ToArray(), result.Attack.AdversarialPrediction.data<long>().ToArray());
        Assert.Equal(recomputed.max(1).values.data<float>().ToArray(), result.Attack.AdversarialProbability.data<float>().ToArray());
        Assert.Equal(labels.data<long>().ToArray(), result.Attack.OriginalPrediction.data<long>().ToArray());
        Assert.Equal(recomputed.argmax(1).ne(labels).data<bool>().ToArray(), result.Attack.Success.data<bool>().ToArray());
        Assert.True(result.Attack.Adversarial.min().item<float>() >= 0 && result.Attack.Adversarial.max().item<float>() <= 1);
    }

    [Fact]
    public void SameSeedSameAttack()
    {
        var (model, images, labels) = CorrectlyClassifiedFashion(2);
        var options = new OnePixelOptions(Pixels: 2, Population: 20, Iterations: 3, CrossoverRate: 0.7f, Seed: 11);
        using var first = new OnePixel(model, options).Attack(images, labels);
        using var second = new OnePixel(model, options).Attack(images, labels);
        Assert.True(first.Attack.Adversarial.eq(second.Attack.Adversarial).all().item<bool>());
        Assert.Equal(first.ChangedPixels.SelectMany(p => p), second.ChangedPixels.SelectMany(p => p));
        using var other = new OnePixel(model, options with { Seed = 12 }).Attack(images, labels);
        Assert.False(first.Attack.Adversarial.eq(other.Attack.Adversarial).all().item<bool>());
    }

    [Fact]
    public void AnImagesAttackDoesNotDependOnTheOtherImagesOfItsBatch()
    {
        // The three images the model is least sure of (broken early) and the three it is surest of (never broken).
        var (model, sorted, sortedLabels) = CorrectlyClassifiedFashion(150, leastConfident: true);
        using var pick = tensor(new long[] { 0, 1, 2, 147, 148, 149 });
        var (images, labels) = (sorted[pick], sortedLabels[pick]);
        var options = new OnePixelOptions(Pixels: 2, Population: 20, Iterations: 6, CrossoverRate: 0.7f, Seed: 4);
        using var together = new OnePixel(model, options).Attack(images, labels);
        Assert.Contains(together.Generations, g => g < options.Iterations);   // some images leave the search early, others do not
        Assert.Contains(together.Generations, g => g == options.Iterations);
        for (int i = 0; i < 6; i++)
        {
            using var alone = new OnePixel(model, options).Attack(images[i..(i + 1)], labels[i..(i + 1)]);
            Assert.True(alone.Attack.Adversarial[0].eq(together.Attack.Adversarial[i]).all().item<bool>(), $"image {i}");
            Assert.Equal(alone.ChangedPixels[0], together.ChangedPixels[i]);
            Assert.Equal(alone.Generations[0], together.Generations[i]);
        }
    }

    [Fact]
    public void SucceedsOnSomeFashionImages()
    {
        var (model, images, labels) = CorrectlyClassifiedFashion(10, leastConfident: true);
        using var result = new OnePixel(model, new OnePixelOptions(Population: 50, Iterations: 20)).Run(images, labels);
        output.WriteLine($"one-pixel success rate on the 10 least confident correctly classified of 200 Fashion-MNIST images: {result.SuccessRate:P0}");
        Assert.True(result.SuccessRate > 0);
    }

    [Fact]
    public void BadOptionsGiveClearErrors()
    {
        using var model = SinglePixelSwitch();
        var images = zeros(1, 1, 8, 8);
        var labels = tensor(new long[] { 0 });
        var k = Assert.Throws<ArgumentOutOfRangeException>(() => new OnePixel(model, new OnePixelOptions(Pixels: 0)).Run(images, labels));
        Assert.Contains("at least 1 pixel", k.Message);
        var population = Assert.Throws<ArgumentOutOfRangeException>(() => new OnePixel(model, new OnePixelOptions(Population: 3)).Run(images, labels));
        Assert.Contains("at least 4", population.Message);
        var iterations = Assert.Throws<ArgumentOutOfRangeException>(() => new OnePixel(model, new OnePixelOptions(Iterations: -1)).Run(images, labels));
        Assert.Contains("cannot be negative", iterations.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new OnePixel(model, new OnePixelOptions(CrossoverRate: 1.5f)).Run(images, labels));
        Assert.Throws<ArgumentOutOfRangeException>(() => new OnePixel(model).Run(images, labels, targets: 2));
        Assert.Throws<ArgumentException>(() => new OnePixel(model).Run(images, tensor(new long[] { 0, 1 })));
        Assert.Throws<ArgumentException>(() => new OnePixel(model).Run(zeros(1, 3, 8, 8), labels));
    }

    [Fact]
    public void RunsOnResNet18WithATinyBudget()
    {
        using var model = TorchVisionModels.CreateUntrained("resnet18");
        var images = rand(new long[] { 1, 3, 224, 224 }, generator: new Generator(5));
        var labels = model.Probabilities(images).argmax(1).cpu();
        using var result = new OnePixel(model, new OnePixelOptions(Population: 6, Iterations: 1)).Run(images, labels, targets: 7);
        Assert.Equal(new long[] { 1, 3, 224, 224 }, result.Adversarial.shape);
        Assert.Equal([1L], ChangedPositions(images, result.Adversarial));
        Assert.True(result.Adversarial.min().item<float>() >= 0 && result.Adversarial.max().item<float>() <= 1);
        Assert.Equal(new long[] { 1 }, result.Success.shape);
    }
}
