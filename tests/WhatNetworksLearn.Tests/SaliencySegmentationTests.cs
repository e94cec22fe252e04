using WhatNetworksLearn.Attribution;
using WhatNetworksLearn.Models;
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
    }
}
