using WhatNetworksLearn.Attribution;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Rendering;
using WhatNetworksLearn.Synthesis;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

public class SaliencySegmentationTests
{
    const int Size = 96;

    /// <summary>
    /// A bright, speckled yellow disc (radius 22, centre 48, 48) on a dark blue background with stripes and speckle;
    /// returns the image and the true disc (H x W, 0/1).
    /// </summary>
    static (Tensor Image, Tensor Disc) DiscScene()
    {
        var generator = new Generator(21);
        var y = arange(Size).reshape(Size, 1).to_type(ScalarType.Float32);
        var x = arange(Size).reshape(1, Size).to_type(ScalarType.Float32);
        var disc = ((y - 48).square() + (x - 48).square()).le(22 * 22).to_type(ScalarType.Float32);
        var stripes = 0.1f * ((x + y) / 4).sin();
        var background = stack([0.15f + stripes, 0.2f + stripes, 0.55f + stripes]);
        var foreground = stack([full(Size, Size, 0.9f), full(Size, Size, 0.8f), full(Size, Size, 0.2f)]);
        var speckle = 0.08f * randn([3, Size, Size], generator: generator);
        var image = (disc * foreground + (1 - disc) * background + speckle).clamp(0, 1);
        return (image, disc);
    }

    /// <summary>A smooth bump centred off-centre on the disc: high on part of the object only.</summary>
    static Tensor BumpSaliency(float centreY = 42, float centreX = 54, float width = 12)
    {
        var y = arange(Size).reshape(Size, 1).to_type(ScalarType.Float32);
        var x = arange(Size).reshape(1, Size).to_type(ScalarType.Float32);
        return (-((y - centreY).square() + (x - centreX).square()) / (2 * width * width)).exp();
    }

    [Fact]
    public void A_saliency_bump_on_part_of_an_object_recovers_the_whole_object()
    {
        using var scope = NewDisposeScope();
        var (image, disc) = DiscScene();
        using var result = SaliencySegmentation.Run(image, BumpSaliency());
        var overlap = (result.Mask * disc).sum().item<float>();
        var union = (result.Mask + disc).clamp_max(1).sum().item<float>();
        Assert.True(overlap / union >= 0.8, $"IoU with the true disc is {overlap / union:F3}");
        // The bump alone (its top 5%) covers only a small part of the disc.
        var seeded = result.Seeds.eq((byte)SeedLabel.Foreground).to_type(ScalarType.Float32);
        Assert.True((seeded * disc).sum().item<float>() < 0.4f * disc.sum().item<float>());
    }

    /// <summary>
    /// Saliency as on Fashion-MNIST: a ring along the disc's outline, as strong just outside it as just inside, a weak
    /// floor over the background, and least in the disc's uniform interior.
    /// </summary>
    static Tensor OutlineSaliency()
    {
        var y = arange(Size).reshape(Size, 1).to_type(ScalarType.Float32);
        var x = arange(Size).reshape(1, Size).to_type(ScalarType.Float32);
        var radius = ((y - 48).square() + (x - 48).square()).sqrt();
        return (-(radius - 22).square() / (2 * 4 * 4)).exp() + 0.05f * radius.gt(22).to_type(ScalarType.Float32);
    }

    [Fact]
    public void When_the_saliency_lies_on_both_sides_of_the_outline_seeds_fail_and_the_box_recovers_the_object()
    {
        using var scope = NewDisposeScope();
        var (image, disc) = DiscScene();
        var saliency = OutlineSaliency();
        // The least salient 30% include the disc's centre, which the seeds then fix as background for good.
        using var seeded = SaliencySegmentation.Run(image, saliency);
        Assert.Equal((byte)SeedLabel.Background, seeded.Seeds[48, 48].item<byte>());
        Assert.True(seeded.IntersectionOverUnion(disc) < 0.8, $"IoU with seeds {seeded.IntersectionOverUnion(disc):F3}");
        // The box around the most salient 40% of the pixels holds the whole disc; GrabCut's colour models find it inside.
        using var boxed = SaliencySegmentation.Run(image, saliency, new SegmentationOptions(Start: SegmentationStart.Box));
        Assert.True(boxed.IntersectionOverUnion(disc) >= 0.9, $"IoU with the box {boxed.IntersectionOverUnion(disc):F3}");
        Assert.NotNull(boxed.Box);
        Assert.Null(seeded.Box);
    }

    [Fact]
    public void The_salient_box_bounds_the_most_salient_pixels_and_spares_the_outer_ring()
    {
        using var scope = NewDisposeScope();
        var saliency = zeros(10, 12);
        saliency[2..5, 3..8] = full(3, 5, 2f);   // 15 pixels of 120: the top 12.5%
        saliency[7, 9] = tensor(1f);               // the 16th
        Assert.Equal(new Box(3, 2, 5, 3), SaliencySegmentation.SalientBox(saliency, 15 / 120.0));
        Assert.Equal(new Box(3, 2, 7, 6), SaliencySegmentation.SalientBox(saliency, 16 / 120.0));
        // All pixels: the box stops one pixel short of every edge.
        Assert.Equal(new Box(1, 1, 10, 8), SaliencySegmentation.SalientBox(saliency, 1.0));
        // The seeds of a box start: sure background outside, probably object inside.
        using var result = SaliencySegmentation.Run(rand(3, 10, 12, generator: new Generator(5)), saliency,
            new SegmentationOptions(Start: SegmentationStart.Box, BoxFraction: 15 / 120.0));
        var seeds = result.Seeds;
        Assert.Equal(15, seeds.eq((byte)SeedLabel.ProbablyForeground).sum().item<long>());
        Assert.True(seeds[2..5, 3..8].eq((byte)SeedLabel.ProbablyForeground).all().item<bool>());
        Assert.Equal(120 - 15, seeds.eq((byte)SeedLabel.Background).sum().item<long>());
        Assert.Throws<ArgumentOutOfRangeException>(() => SaliencySegmentation.SalientBox(saliency, 0));
        Assert.Throws<ArgumentException>(() => SaliencySegmentation.SalientBox(zeros(2, 9), 0.5));
    }

    [Fact]
    public void Intersection_over_union_counts_pixels_in_both_over_pixels_in_either()
    {
        using var scope = NewDisposeScope();
        var a = tensor(new[] { 1f, 1f, 0f, 0f }).reshape(2, 2);
        var b = tensor(new[] { 0f, 1f, 1f, 0f }).reshape(2, 2);
        Assert.Equal(1 / 3f, SaliencySegmentation.IntersectionOverUnion(a, b), 6);
        Assert.Equal(1f, SaliencySegmentation.IntersectionOverUnion(a, a));
        Assert.Equal(0f, SaliencySegmentation.IntersectionOverUnion(a, 1 - a));
        Assert.Equal(1f, SaliencySegmentation.IntersectionOverUnion(zeros(2, 2), zeros(2, 2)));
        Assert.Throws<ArgumentException>(() => SaliencySegmentation.IntersectionOverUnion(a, zeros(3, 2)));
    }

    [Fact]
    public void The_same_options_give_the_same_cut()
    {
        using var scope = NewDisposeScope();
        var (image, _) = DiscScene();
        using var first = SaliencySegmentation.Run(image, BumpSaliency());
        using var second = SaliencySegmentation.Run(image, BumpSaliency());
        Assert.True(first.Mask.eq(second.Mask).all().item<bool>());
    }

    [Fact]
    public void The_cutout_keeps_the_object_as_it_is_and_shows_a_checkerboard_elsewhere()
    {
        using var scope = NewDisposeScope();
        var (image, disc) = DiscScene();
        using var result = SaliencySegmentation.Run(image, BumpSaliency());
        var cutout = result.Cutout();
        var kept = result.Mask.gt(0.5);
        Assert.True(cutout.masked_select(kept.expand(3, -1, -1)).eq(result.Image.masked_select(kept.expand(3, -1, -1))).all().item<bool>());
        // 96 pixels, squares of 96 / 14 = 6: the corner square (0, 0) is the shade, the next one (0, 6) the light tone.
        Assert.Equal(new[] { 0.60f, 0.65f, 0.76f }, cutout[.., 0, 0].data<float>().ToArray());
        Assert.Equal(new[] { 0.80f, 0.84f, 0.92f }, cutout[.., 0, 6].data<float>().ToArray());
    }

    [Fact]
    public void Seeds_take_exactly_the_requested_fractions_by_rank()
    {
        using var scope = NewDisposeScope();
        var saliency = arange(100).to_type(ScalarType.Float32).reshape(10, 10);
        var seeds = SaliencySegmentation.Seeds(saliency, new SegmentationOptions(0.05, 0.30, 0.40));
        var flat = seeds.flatten().data<byte>().ToArray();
        // Most salient last: values 95-99 are sure object, 60-94 probably object, 30-59 probably background, 0-29 sure background.
        Assert.All(flat[95..], s => Assert.Equal((byte)SeedLabel.Foreground, s));
        Assert.All(flat[60..95], s => Assert.Equal((byte)SeedLabel.ProbablyForeground, s));
        Assert.All(flat[30..60], s => Assert.Equal((byte)SeedLabel.ProbablyBackground, s));
        Assert.All(flat[..30], s => Assert.Equal((byte)SeedLabel.Background, s));
    }

    [Fact]
    public void The_blur_keeps_the_total_and_spreads_a_point_as_a_gaussian()
    {
        using var scope = NewDisposeScope();
        var point = zeros(41, 41);
        point[20, 20] = tensor(1f);
        var blurred = ImageFilters.GaussianBlur(point[TensorIndex.None, TensorIndex.None], 2)[0, 0];
        Assert.Equal(1f, blurred.sum().item<float>(), 5);
        // One step from the centre the value falls by exp(-1 / (2 sigma^2)); two steps by exp(-4 / (2 sigma^2)).
        var centre = blurred[20, 20].item<float>();
        Assert.Equal(Math.Exp(-1 / 8.0), blurred[20, 21].item<float>() / centre, 5);
        Assert.Equal(Math.Exp(-4 / 8.0), blurred[18, 20].item<float>() / centre, 5);
        // A constant map stays constant, borders included.
        var flat = full(10, 12, 3f);
        Assert.True(ImageFilters.GaussianBlur(flat[TensorIndex.None, TensorIndex.None], 1.5).allclose(flat));
    }

    [Fact]
    public void Bad_inputs_are_refused_with_reasons()
    {
        using var scope = NewDisposeScope();
        var (image, _) = DiscScene();
        Assert.Contains("the image's size", Assert.Throws<ArgumentException>(() => SaliencySegmentation.Run(image, zeros(48, 48))).Message);
        Assert.Contains("no foreground seeds", Assert.Throws<ArgumentException>(() => SaliencySegmentation.Run(image, zeros(Size, Size))).Message);
        var nan = BumpSaliency();
        nan[3, 3] = tensor(float.NaN);
        Assert.Contains("NaN", Assert.Throws<ArgumentException>(() => SaliencySegmentation.Run(image, nan)).Message);
        Assert.Throws<ArgumentException>(() => SaliencySegmentation.Run(zeros(2, Size, Size), BumpSaliency()));
        Assert.Throws<ArgumentOutOfRangeException>(() => SaliencySegmentation.Run(image, BumpSaliency(), new SegmentationOptions(0.5, 0.6)));
        Assert.Throws<ArgumentOutOfRangeException>(() => SaliencySegmentation.Run(image, BumpSaliency(), new SegmentationOptions(Iterations: 0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => SaliencySegmentation.Run(image, BumpSaliency(), new SegmentationOptions(Blur: -1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => SaliencySegmentation.Run(image, BumpSaliency(), new SegmentationOptions(Start: SegmentationStart.Box, BoxFraction: 0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => SaliencySegmentation.Run(image, BumpSaliency(), new SegmentationOptions(Start: (SegmentationStart)7)));
    }

    [Fact]
    public void With_a_model_the_saliency_comes_from_its_class_score_and_is_resized()
    {
        using var model = ToyModels.CornerDetector();
        using var image = rand(1, 8, 8, generator: new Generator(22));
        using var result = SaliencySegmentation.Run(model, image, 0, workingSize: 32);
        Assert.Equal(new long[] { 3, 32, 32 }, result.Image.shape);
        Assert.Equal(new long[] { 32, 32 }, result.Mask.shape);
        Assert.True(result.Mask.eq(0).logical_or(result.Mask.eq(1)).all().item<bool>());
        // The map is 10 on the top-left 2 x 2 pixels and 0 elsewhere; enlarged, the top-left corner stays the most salient.
        Assert.Equal(0, result.Saliency.argmax().item<long>() / 32 / 8);
        Assert.Equal((byte)SeedLabel.Foreground, result.Seeds[0, 0].item<byte>());
        // Prepared once, the same image and map give the same cut.
        var (picture, saliency) = SaliencySegmentation.Prepare(model, image, 0, workingSize: 32);
        using (picture)
        using (saliency)
        using (var again = SaliencySegmentation.Run(picture, saliency))
        {
            Assert.True(again.Image.eq(result.Image).all().item<bool>());
            Assert.True(again.Mask.eq(result.Mask).all().item<bool>());
        }
    }
}
