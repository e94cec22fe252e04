using WhatNetworksLearn.Adversarial;
using WhatNetworksLearn.Data;
using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

public class ApgdTests
{
    [Fact]
    public void Checkpoints_follow_the_papers_schedule()
    {
        // p = 0, 0.22, 0.41, 0.57, 0.70, 0.80, 0.87, 0.93, 0.99 (the next, 1.05, is past the end), times 100, rounded up.
        Assert.Equal([0, 22, 41, 57, 70, 80, 87, 93, 99], Apgd.Checkpoints(100));
        Assert.Equal([0, 3, 5, 6, 7, 8, 9, 10], Apgd.Checkpoints(10));   // 2.2, 4.1, 5.7, 7.0, 8.0, 8.7, 9.3, 9.9
    }

    [Fact]
    public void The_first_step_of_two_epsilon_reaches_the_edge_of_the_ball_from_any_random_start()
    {
        // The corner detector's loss for "corner" falls as its four pixels brighten, and nothing else has a gradient.
        // From anywhere in the ball a step of 2ε darkens the corner to the ball's edge, 0.2 - ε; a step of ε would not.
        using var model = ToyModels.CornerDetector();
        using var image = full(1, 1, 8, 8, 0.2f);
        using var labels = tensor(new long[] { 0 });
        foreach (int iterations in new[] { 1, 30 })
            foreach (int seed in new[] { 0, 1, 2 })
            {
                using var result = new Apgd(model, new ApgdOptions(0.1, iterations, seed)).Run(image, labels);
                using var corner = result.Adversarial[0, 0, 0..2, 0..2];
                Assert.True(corner.allclose(full(2, 2, 0.1f), atol: 1e-6), $"{iterations} iterations, seed {seed}: corner {corner.max().item<float>()}");
                Assert.True(result.Perturbation.abs().max().item<float>() <= 0.1 + 1e-6);
            }
    }

    [Fact]
    public void It_finds_at_least_what_pgd_finds_on_fashion_cnn_and_its_targeted_mode_reaches_the_target()
    {
        using var model = FashionCnn.Load(CPU);
        using var sample = FashionMnist.LoadSample(limit: 64);
        using var pgd = new Pgd(model, new PgdOptions(0.03, 0.0075, 20, Seed: 1)).Run(sample.Images, sample.Labels);
        using var apgd = new Apgd(model, new ApgdOptions(0.03, 20, Seed: 1)).Run(sample.Images, sample.Labels);
        Assert.True(apgd.SuccessRate >= pgd.SuccessRate, $"APGD {apgd.SuccessRate:P0} vs PGD {pgd.SuccessRate:P0}");
        using var targeted = new Apgd(model, new ApgdOptions(0.2, 30)).Run(sample.Images, sample.Labels, targets: 8);
        Assert.True(targeted.SuccessRate > 0.9, $"targeted APGD reached Bag on {targeted.SuccessRate:P0}");
    }
}
