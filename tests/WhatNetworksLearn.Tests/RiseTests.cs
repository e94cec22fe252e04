using WhatNetworksLearn.Attribution;
using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

/// <summary>RISE: its estimate on masks given by hand, its masks, and a map that finds what a toy model looks at.</summary>
public class RiseTests
{
    [Fact]
    public void With_masks_given_by_hand_the_map_is_the_probability_weighted_mean_of_the_masks()
    {
        // Images 1 x 1 x 2; class 0's score is ln 3 · pixel 0, class 1's is 0, so P(class 0) = σ(ln 3 · pixel 0):
        // 3/4 when pixel 0 is shown, 1/2 when it is hidden. Image (1, 1); masks (1, 0), (0, 1), (1, 1); p = ½.
        // Pixel 0 is shown by masks 1 and 3: (¾ + ¾) / (3 · ½) = 1. Pixel 1 by masks 2 and 3: (½ + ¾) / 1.5 = ⅚.
        var linear = nn.Linear(2, 2, hasBias: false);
        using (no_grad())
            linear.weight!.copy_(tensor(new float[,] { { (float)Math.Log(3), 0 }, { 0, 0 } }));
        using var model = new VisionModel("half", "toy", nn.Sequential(("flatten", nn.Flatten()), ("linear", linear)),
            new InputSpec(1, 1, 2, [0f], [1f]), ["pixel 0", "nothing"], null, CPU);
        using var image = ones(1, 1, 1, 2);
        using var masks = tensor(new float[] { 1, 0, 0, 1, 1, 1 }).reshape(3, 1, 1, 2);
        using var map = Rise.Weigh(model, image, masks, 0, keepProbability: 0.5, batchSize: 2);
        Assert.True(map.flatten().allclose(tensor(new float[] { 1, 5 / 6f }), atol: 1e-6), map.ToString(TorchSharp.TensorStringStyle.Julia));
    }

    [Fact]
    public void Masks_are_smooth_blobs_in_the_unit_range_that_keep_the_chosen_share_and_follow_their_seed()
    {
        using var model = ToyModels.CornerDetector();
        var rise = new Rise(model, new RiseOptions(Masks: 2000, GridSize: 4, KeepProbability: 0.3, Seed: 5));
        using var masks = rise.Masks(8, 8);
        Assert.Equal(new long[] { 2000, 1, 8, 8 }, masks.shape);
        Assert.True(masks.min().item<float>() >= 0 && masks.max().item<float>() <= 1);
        Assert.InRange(masks.mean().item<float>(), 0.28, 0.32);
        // Bilinear enlargement of a binary grid: most pixels lie strictly between 0 and 1 somewhere, none jumps from
        // 0 to 1 between neighbours (a cell is 2 pixels, so a step is at most ½).
        Assert.True((masks[.., .., .., 1..] - masks[.., .., .., ..^1]).abs().max().item<float>() <= 0.5f + 1e-6f);
        using var again = rise.Masks(8, 8);
        Assert.True(SynthesisTests.Identical(masks, again));
        using var other = new Rise(model, rise.Options with { Seed = 6 }).Masks(8, 8);
        Assert.False(SynthesisTests.Identical(masks, other));
        using var all = new Rise(model, new RiseOptions(Masks: 3, GridSize: 1, KeepProbability: 1)).Masks(8, 8);
        Assert.True(all.eq(1).all().item<bool>());
    }

    [Fact]
    public void On_a_model_that_looks_only_at_one_corner_the_map_is_highest_there()
    {
        // Class 0's score is 10 × the sum of the 2 x 2 top-left corner: hiding the corner lowers its probability, hiding
        // anything else does not, so the corner's pixels get the highest RISE values.
        using var model = ToyModels.CornerDetector();
        using var image = full(1, 1, 8, 8, 0.1f);
        using var map = new Rise(model, new RiseOptions(Masks: 1000, GridSize: 4)).Attribute(image, 0);
        float corner = map[0, 0, ..2, ..2].mean().item<float>(), far = map[0, 0, 4.., 4..].mean().item<float>();
        Assert.True(corner > far + 0.1f, $"corner {corner:F3}, far {far:F3}");
    }
}
