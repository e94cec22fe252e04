using Catalogue;
using WhatNetworksLearn.Attribution;
using WhatNetworksLearn.Data;
using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

/// <summary>
/// The contract every attribution method keeps, generated for every catalogue entry that gives an
/// <see cref="AttributionMember"/>: a new method is tested the moment it is registered. Its attributions are shaped
/// like the input and on the CPU; an image's map is the same whatever else shares its batch; equal seeds give equal
/// maps; and it can be wrapped by SmoothGrad and by the sanity checks' cascading randomisation.
/// </summary>
public sealed class AttributionContractTests : IDisposable
{
    readonly VisionModel fashion = FashionCnn.Load(CPU);
    readonly Tensor images;
    /// <summary>A class per image, not all the same, so a method that reads one class for all would show it.</summary>
    static readonly int[] Classes = [0, 9, 3, 7];
    static readonly Targets ClassPerImage = Targets.PerImage(Classes);

    public AttributionContractTests()
    {
        var sample = FashionMnist.LoadSample(Classes.Length);
        images = sample.Images;
        sample.Labels.Dispose();
    }

    public static TheoryData<string> Methods() => new(Techniques.All.Where(t => t.Attribution is not null).Select(t => t.Name));

    static AttributionMember Member(string name) => Techniques.All.Single(t => t.Name == name).Attribution!;

    /// <summary>Whether <paramref name="actual"/> equals <paramref name="expected"/> to float32 rounding, relative to the largest attribution.</summary>
    static bool Close(Tensor actual, Tensor expected)
    {
        if (!actual.shape.SequenceEqual(expected.shape))
            return false;
        using var scope = NewDisposeScope();
        double largest = expected.abs().max().item<float>();
        return (actual - expected).abs().max().item<float>() <= 1e-4 * largest + 1e-7;
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void Attributions_are_shaped_like_the_input_finite_and_on_the_cpu(string method)
    {
        using var attributions = Member(method).Make(fashion, 0).Attribute(images, ClassPerImage);
        Assert.Equal(images.shape, attributions.shape);
        Assert.Equal(TorchSharp.DeviceType.CPU, attributions.device_type);
        Assert.True(attributions.is_floating_point() && attributions.isfinite().all().item<bool>(), "attributions must be finite numbers");
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void An_images_map_is_the_same_whatever_else_is_in_its_batch(string method)
    {
        var attribution = Member(method).Make(fashion, 0);
        using var together = attribution.Attribute(images, ClassPerImage);
        for (int i = 0; i < Classes.Length; i++)
        {
            using var alone = attribution.Attribute(images[i..(i + 1)], Classes[i]);
            Assert.True(Close(alone[0], together[i]), $"image {i} alone differs from image {i} in the batch");
        }
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void Equal_seeds_give_equal_maps_and_a_seeded_method_follows_its_seed(string method)
    {
        var member = Member(method);
        AssertFollowsItsSeed(seed => member.Make(fashion, seed).Attribute(images, ClassPerImage), member.Seeded);
    }

    /// <summary>
    /// The seed contract of every family: equal seeds give identical results and, for a member declared seeded, another
    /// seed gives another result. <paramref name="run"/> runs the member made with the seed given.
    /// </summary>
    internal static void AssertFollowsItsSeed(Func<int, Tensor> run, bool seeded)
    {
        using var first = run(7);
        using var again = run(7);
        Assert.True(SynthesisTests.Identical(first, again), "equal seeds gave different results");
        if (!seeded)
            return;
        using var other = run(8);
        Assert.False(Close(other, first), "another seed gave the same result: declare the member unseeded, or use the seed");
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void SmoothGrad_wraps_it(string method)
    {
        var attribution = Member(method).Make(fashion, 0);
        using var plain = attribution.Attribute(images, ClassPerImage);
        // Without noise every copy is its image, so the mean is the method's own answer (copies in batches of 3: the
        // batches cut across images).
        using var noiseless = new SmoothGrad(attribution, new SmoothGradOptions(Samples: 2, NoiseLevel: 0, BatchSize: 3)).Attribute(images, ClassPerImage);
        Assert.True(Close(noiseless, plain), "SmoothGrad without noise is not the method's own map");
        using var smooth = new SmoothGrad(attribution, new SmoothGradOptions(Samples: 2, NoiseLevel: 0.15f, BatchSize: 3)).Attribute(images, ClassPerImage);
        Assert.Equal(plain.shape, smooth.shape);
        Assert.False(Close(smooth, plain), "the noise changed nothing");
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void The_sanity_checks_cascade_wraps_it_and_gives_the_model_back(string method)
    {
        var attribution = Member(method).Make(fashion, 0);
        var weights = fashion.Module.state_dict().ToDictionary(p => p.Key, p => p.Value.clone());
        using var sanity = CascadingRandomization.Run(fashion, [(method, attribution)], images, ClassPerImage, ["fc2", "conv3"], seed: 0);
        Assert.Equal(new long[] { 1, 3, Classes.Length, 28, 28 }, sanity.Maps.shape);
        using var raw = attribution.Attribute(images, ClassPerImage);
        using var trained = Attributions.PerPixel(raw);
        Assert.True(Close(sanity.Maps[0, 0], trained), "the cascade's first stage is not the method's map of the trained model");
        foreach (var (name, value) in fashion.Module.state_dict())
            Assert.True(SynthesisTests.Identical(value, weights[name]), $"{name} was not given back");
        foreach (var t in weights.Values)
            t.Dispose();
    }

    public void Dispose()
    {
        fashion.Dispose();
        images.Dispose();
    }
}
