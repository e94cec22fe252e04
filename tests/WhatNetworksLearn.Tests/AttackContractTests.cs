using Catalogue;
using WhatNetworksLearn.Adversarial;
using WhatNetworksLearn.Data;
using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

/// <summary>
/// The contract every attack keeps, generated for every catalogue entry that gives an <see cref="AttackMember"/>: a new
/// attack is tested the moment it is registered. Its change stays within its budget and its images in [0,1], the
/// result reports the model's own answers, targeted mode reaches each image's own target on an easy case, the model's
/// modes come back as they were, and equal seeds give equal results.
/// </summary>
public sealed class AttackContractTests : IDisposable
{
    readonly VisionModel fashion = FashionCnn.Load(CPU);
    readonly Tensor images;
    readonly Tensor labels;

    public AttackContractTests()
    {
        var sample = FashionMnist.LoadSample(8);
        (images, labels) = (sample.Images, sample.Labels);
    }

    public static TheoryData<string> Attacks() => new(Techniques.All.Where(t => t.Attack is not null).Select(t => t.Name));

    static AttackMember Member(string name) => Techniques.All.Single(t => t.Name == name).Attack!;

    /// <summary>A target per image, never its own label: the next class.</summary>
    static Targets NextClasses(Tensor labels) => Targets.PerImage(labels.data<long>().Select(l => (int)((l + 1) % 10)).ToArray());

    [Theory]
    [MemberData(nameof(Attacks))]
    public void The_change_keeps_the_budget_the_images_stay_in_range_and_the_result_reports_the_models_answers(string attack)
    {
        var member = Member(attack);
        foreach (var targets in new Targets?[] { null, NextClasses(labels) })
        {
            using var result = member.Make(fashion, 0).Run(images, labels, targets);
            Assert.Equal(images.shape, result.Adversarial.shape);
            Assert.Null(member.Budget.Broken(result.Perturbation));
            Assert.True(result.Adversarial.min().item<float>() >= 0 && result.Adversarial.max().item<float>() <= 1, "adversarial pixels left [0,1]");
            Assert.True((result.Adversarial - images).allclose(result.Perturbation, atol: 1e-6), "the perturbation is not adversarial − original");
            using var probabilities = fashion.Probabilities(result.Adversarial);
            using var prediction = probabilities.argmax(1);
            Assert.True(SynthesisTests.Identical(prediction, result.AdversarialPrediction), "the reported prediction is not the model's");
            Assert.True(probabilities.max(1).values.allclose(result.AdversarialProbability, atol: 1e-5));
            Assert.True(SynthesisTests.Identical(fashion.Probabilities(images).argmax(1), result.OriginalPrediction));
            using var expected = targets is { } t ? prediction.eq(t.ForBatch(images.shape[0])) : prediction.ne(labels);
            Assert.True(SynthesisTests.Identical(expected, result.Success), $"success flags disagree with the model's answers ({(targets is null ? "untargeted" : "targeted")})");
        }
    }

    [Theory]
    [MemberData(nameof(Attacks))]
    public void Targeted_it_reaches_each_images_own_target_on_an_easy_case(string attack)
    {
        // Four classes, each the brightness of one 4 x 4 quadrant of an 8 x 8 image. Every image is grey (0.3) with one
        // pixel of its own quadrant at 0.31: one pixel of another quadrant brightened past 0.31 makes that class win.
        using var weight = zeros(4, 8, 8);
        for (int k = 0; k < 4; k++)
            weight[k, (k / 2 * 4)..(k / 2 * 4 + 4), (k % 2 * 4)..(k % 2 * 4 + 4)] = tensor(10f);
        using var bias = zeros(4);
        using var model = ToyModels.Linear(weight.reshape(4, 64), bias, 8, 8);
        using var easy = full(4, 1, 8, 8, 0.3f);
        for (int k = 0; k < 4; k++)
            easy[k, 0, k / 2 * 4 + 1, k % 2 * 4 + 2] = tensor(0.31f);
        using var own = arange(4L);
        Assert.True(SynthesisTests.Identical(model.Probabilities(easy).argmax(1), own), "the easy case is not what it says");

        var targets = Targets.PerImage([1, 2, 3, 0]);
        using var result = Member(attack).Make(model, 0).Run(easy, own, targets);
        using var expected = tensor(new long[] { 1, 2, 3, 0 });
        Assert.True(SynthesisTests.Identical(result.AdversarialPrediction, expected), $"predictions {string.Join(", ", result.AdversarialPrediction.data<long>().ToArray())}, targets 1, 2, 3, 0");
        Assert.True(result.Success.all().item<bool>());
    }

    [Theory]
    [MemberData(nameof(Attacks))]
    public void It_runs_the_model_as_at_test_time_and_gives_every_layer_its_mode_back(string attack)
    {
        var member = Member(attack);
        var targets = NextClasses(labels);
        InputGradientTests.AssertRunsAsAtTestTime(fashion, () =>
        {
            using var result = member.Make(fashion, 0).Run(images, labels, targets);
            return result.Adversarial.clone();
        });
    }

    [Theory]
    [MemberData(nameof(Attacks))]
    public void Equal_seeds_give_equal_results_and_a_seeded_attack_follows_its_seed(string attack)
    {
        var member = Member(attack);
        AttributionContractTests.AssertFollowsItsSeed(seed =>
        {
            using var result = member.Make(fashion, seed).Run(images, labels);
            return result.Adversarial.clone();
        }, member.Seeded);
    }

    public void Dispose()
    {
        fashion.Dispose();
        images.Dispose();
        labels.Dispose();
    }
}
