using WhatNetworksLearn.Adversarial;
using WhatNetworksLearn.Data;
using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

/// <summary>The feature-space attack (Sabour et al., 2016): budget, pixel range, and the distance to the guide.</summary>
public class FeatureAttackTests
{
    /// <summary>1 x 8 x 8 images, one feature: the sum of the pixels.</summary>
    static VisionModel PixelSum()
    {
        var linear = nn.Linear(64, 1, hasBias: false);
        using (no_grad())
            linear.weight!.fill_(1f);
        return new VisionModel("pixel-sum", "toy", nn.Sequential(("flatten", nn.Flatten()), ("sum", linear)), new InputSpec(1, 8, 8, [0f], [1f]), [], null, CPU);
    }

    [Fact]
    public void On_a_pixel_sum_every_pixel_climbs_towards_a_brighter_guide_by_the_full_budget_and_stops_at_one()
    {
        using var model = PixelSum();
        using var image = full(1, 1, 8, 8, 0.5f);
        image[0, 0, 0, 0] = tensor(0.98f);   // can rise by 0.02 only
        using var guide = ones(1, 1, 8, 8);
        using var result = new FeatureAttack(model, new FeatureAttackOptions(Epsilon: 0.1, Steps: 8, StepFraction: 0.25)).Run(image, guide);

        // Features: 32.48 before, guide 64. Each step adds 0.025 to every pixel until the budget (4 steps) or 1 stops it.
        using var expected = full(1, 1, 8, 8, 0.6f);
        expected[0, 0, 0, 0] = tensor(1f);
        Assert.True((result.Adversarial - expected).abs().max().item<float>() < 1e-5, "every pixel at 0.5 + ε, the bright one at 1");
        Assert.Equal(64 - 32.48, result.GuideDistanceBefore.item<float>(), 3);
        Assert.Equal(64 - (63 * 0.6 + 1), result.GuideDistanceAfter.item<float>(), 3);
        Assert.Equal(63 * 0.1 + 0.02, result.OwnDistanceAfter.item<float>(), 3);
        Assert.False(result.CloserToGuide.item<bool>(), "25.2 from the guide is still farther than 6.32 from its own features");
    }

    [Fact]
    public void A_sweep_gives_each_budget_its_own_row()
    {
        using var model = PixelSum();
        using var image = full(1, 1, 8, 8, 0.5f);
        using var guide = zeros(1, 1, 8, 8);
        double[] epsilons = [0.01, 0.05, 0.2];
        using var result = new FeatureAttack(model, new FeatureAttackOptions(Steps: 8, StepFraction: 0.25)).Sweep(image, guide, epsilons);
        for (int i = 0; i < epsilons.Length; i++)
        {
            Assert.Equal(-epsilons[i], result.Perturbation[i].max().item<float>(), 5);   // every pixel darker by exactly ε_i
            Assert.Equal(-epsilons[i], result.Perturbation[i].min().item<float>(), 5);
            Assert.Equal(epsilons[i], result.Epsilon[i].item<float>(), 6);
        }
    }

    [Fact]
    public void On_fashion_cnn_the_features_move_towards_the_guide_and_stay_in_the_budget_and_in_range()
    {
        using var model = FashionCnn.Load(CPU);
        using var sample = FashionMnist.LoadSample(8);
        using var images = sample.Images[..4];
        using var guides = sample.Images[4..8];
        foreach (var randomStart in new[] { false, true })
        {
            const double epsilon = 0.05;
            using var result = new FeatureAttack(model, new FeatureAttackOptions(epsilon, Steps: 10, RandomStart: randomStart)).Run(images, guides);
            Assert.True(result.Perturbation.abs().max().item<float>() <= epsilon + 1e-6, "outside the ε-ball");
            Assert.True((result.Adversarial - images).abs().max().item<float>() <= epsilon + 1e-6, "the perturbation is adversarial minus original");
            Assert.True(result.Adversarial.min().item<float>() >= 0 && result.Adversarial.max().item<float>() <= 1, "outside [0,1]");
            var before = result.GuideDistanceBefore.data<float>().ToArray();
            var after = result.GuideDistanceAfter.data<float>().ToArray();
            Assert.All(before.Zip(after), pair => Assert.True(pair.Second < 0.8 * pair.First, $"distance to the guide {pair.First} -> {pair.Second}"));
        }
    }

    [Fact]
    public void Bad_budgets_and_guides_are_refused_with_a_reason()
    {
        using var model = PixelSum();
        using var image = full(1, 1, 8, 8, 0.5f);
        Assert.Throws<ArgumentOutOfRangeException>(() => new FeatureAttack(model).Sweep(image, image, [0.01, -0.02]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FeatureAttack(model, new FeatureAttackOptions(StepFraction: 0)).Run(image, image));
        using var three = full(3, 1, 8, 8, 0.5f);
        using var two = full(2, 1, 8, 8, 0.5f);
        Assert.Contains("one guide", Assert.Throws<ArgumentException>(() => new FeatureAttack(model).Run(three, two)).Message);
        Assert.Contains("[0,1]", Assert.Throws<ArgumentException>(() => new FeatureAttack(model).Run(image, image * 3)).Message);
    }
}
