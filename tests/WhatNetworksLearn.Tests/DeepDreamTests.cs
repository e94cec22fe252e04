using WhatNetworksLearn.Data;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Synthesis;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

public class DeepDreamTests
{
    static Tensor Photo()
    {
        manual_seed(11);
        // A smooth random picture: coarse noise enlarged, so that there is structure to amplify.
        using var coarse = rand(1, 3, 8, 8);
        using var smooth = nn.functional.interpolate(coarse, [32, 32], mode: InterpolationMode.Bilinear, align_corners: false);
        return smooth[0].clone();
    }

    static double MeanSquare(VisionModel model, string layer, Tensor image)
    {
        using var values = InputOptimizer.Evaluate(model, Objective.MeanSquare(layer), image.dim() == 3 ? image.unsqueeze(0) : image);
        return values.mean().item<float>();
    }

    [Fact]
    public void The_octave_sizes_shrink_by_the_scale()
    {
        var sizes = DeepDream.OctaveSizes(224, 224, new DeepDreamOptions("x", Octaves: 4, OctaveScale: 1.4));
        Assert.Equal([224L, 160, 114, 82], sizes.Select(s => s.Height));
        Assert.Equal(sizes.Select(s => s.Height), sizes.Select(s => s.Width));
    }

    [Fact]
    public void The_next_octave_starts_from_its_photo_plus_the_enlarged_detail_clipped_to_the_pixel_range()
    {
        // The detail (0.2, −0.2) enlarged from 2 to 4 columns (bilinear, half-pixel centres) is 0.2, 0.1, −0.1, −0.2;
        // added to the photo (0.9, 0.5, 0.5, 0.1) it gives 1.1, 0.6, 0.4, −0.1, clipped to 1, 0.6, 0.4, 0.
        using var photo = tensor(new float[] { 0.9f, 0.5f, 0.5f, 0.1f }).reshape(1, 1, 1, 4);
        using var detail = tensor(new float[] { 0.2f, -0.2f }).reshape(1, 1, 1, 2);
        using var start = DeepDream.OctaveStart(photo, detail);
        Assert.True(start.allclose(tensor(new float[] { 1f, 0.6f, 0.4f, 0f }).reshape(1, 1, 1, 4), atol: 1e-6), start.ToString(TorchSharp.TensorStringStyle.Julia));
        using var colour = zeros(1, 3, 1, 2);
        Assert.Contains("same N and C", Assert.Throws<ArgumentException>(() => DeepDream.OctaveStart(photo, colour)).Message);
    }

    [Fact]
    public void The_objective_rises_within_every_octave_and_over_the_whole_dream()
    {
        using var model = SynthesisTests.SmallCnn();
        using var photo = Photo();
        var options = new DeepDreamOptions("relu2", Octaves: 3, OctaveScale: 1.4, StepsPerOctave: 8, Strength: 0.01, Jitter: 4);
        using var dream = DeepDream.Run(model, photo, options);
        Assert.Equal([16L, 23, 32], dream.Octaves.Select(o => o.Height));
        foreach (var octave in dream.Octaves)
        {
            Assert.Equal(8, octave.Objective.Count);
            Assert.True(octave.Objective[^1] > octave.Objective[0], $"octave {octave.Height}: {string.Join(", ", octave.Objective)}");
        }
        Assert.True(MeanSquare(model, "relu2", dream.Image) > 1.2 * MeanSquare(model, "relu2", photo));
        // Each octave keeps its image; the last one is the dream.
        Assert.Equal(new long[] { 1, 3, 16, 16 }, dream.Octaves[0].Image.shape);
        Assert.True(SynthesisTests.Identical(dream.Octaves[^1].Image[0], dream.Image));
    }

    [Fact]
    public void The_dream_keeps_the_input_shape_and_the_pixel_range()
    {
        using var model = SynthesisTests.SmallCnn();
        using var photo = Photo();
        var options = new DeepDreamOptions("relu1", Octaves: 2, StepsPerOctave: 5, Strength: 0.2);
        using (var dream = DeepDream.Run(model, photo, options))
        {
            Assert.Equal(photo.shape, dream.Image.shape);
            Assert.True(dream.Image.min().item<float>() >= 0 && dream.Image.max().item<float>() <= 1);
            Assert.True((dream.Image - photo).abs().max().item<float>() > 0.1f);
        }
        // A smaller image than the model takes is dreamt at its own size, mirrored up to the model's for the forward pass.
        using var small = photo[.., 4..24, 2..30].unsqueeze(0);
        using var smallDream = DeepDream.Run(model, small, options);
        Assert.Equal(new long[] { 1, 3, 20, 28 }, smallDream.Image.shape);
    }

    [Fact]
    public void A_dream_of_zero_strength_returns_the_input_exactly()
    {
        using var model = SynthesisTests.SmallCnn();
        using var photo = Photo();
        using var dream = DeepDream.Run(model, photo, new DeepDreamOptions("relu2", Octaves: 3, StepsPerOctave: 4, Strength: 0, Jitter: 7));
        Assert.True(SynthesisTests.Identical(dream.Image, photo));
    }

    [Fact]
    public void A_dream_repeats_exactly_for_a_seed()
    {
        using var model = SynthesisTests.SmallCnn();
        using var photo = Photo();
        var options = new DeepDreamOptions("relu2", Octaves: 2, StepsPerOctave: 4, Jitter: 5, Seed: 3);
        using var first = DeepDream.Run(model, photo, options);
        using var second = DeepDream.Run(model, photo, options);
        using var other = DeepDream.Run(model, photo, options with { Seed = 4 });
        Assert.True(SynthesisTests.Identical(first.Image, second.Image));
        Assert.False(SynthesisTests.Identical(first.Image, other.Image));
    }

    [Fact]
    public void Bad_requests_are_refused_with_reasons()
    {
        using var model = SynthesisTests.SmallCnn();
        using var photo = Photo();
        Assert.Contains("Valid names", Assert.Throws<ArgumentException>(() => DeepDream.Run(model, photo, new DeepDreamOptions("layer3"))).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => DeepDream.Run(model, photo, new DeepDreamOptions("relu1", StepsPerOctave: -1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => DeepDream.Run(model, photo, new DeepDreamOptions("relu1", Octaves: 0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => DeepDream.Run(model, photo, new DeepDreamOptions("relu1", OctaveScale: 0.5)));
        Assert.Throws<ArgumentOutOfRangeException>(() => DeepDream.Run(model, photo, new DeepDreamOptions("relu1", Strength: -0.1)));
        Assert.Contains("fewer octaves", Assert.Throws<ArgumentOutOfRangeException>(() => DeepDream.Run(model, photo, new DeepDreamOptions("relu1", Octaves: 6))).Message);
        using var big = rand(3, 40, 40);
        Assert.Contains("Images.Prepare", Assert.Throws<ArgumentException>(() => DeepDream.Run(model, big, new DeepDreamOptions("relu1"))).Message);
        using var grey = rand(1, 32, 32);
        Assert.Contains("3-channel", Assert.Throws<ArgumentException>(() => DeepDream.Run(model, grey, new DeepDreamOptions("relu1"))).Message);
        using var bytes = photo * 255;
        Assert.Contains("[0,1]", Assert.Throws<ArgumentException>(() => DeepDream.Run(model, bytes, new DeepDreamOptions("relu1"))).Message);
    }

    [Fact]
    public void An_ImageNet_classifier_dreams_too()
    {
        manual_seed(1);
        using var model = TorchVisionModels.CreateUntrained("resnet18", CPU);
        using var photo = Images.Prepare(ImageFiles.Load(Kit.DataPath("images", "astronaut.png")), model);
        using var dream = DeepDream.Run(model, photo, new DeepDreamOptions("layer2", Octaves: 2, StepsPerOctave: 1));
        Assert.Equal(photo.shape, dream.Image.shape);
        Assert.True(dream.Image.min().item<float>() >= 0 && dream.Image.max().item<float>() <= 1);
    }

    [Fact]
    public void The_ImageNet_trunk_dreams_on_octaves_smaller_than_its_input()
    {
        using var trunk = ModelRegistry.Load(ModelRegistry.TrunkName, CPU);
        using var photo = Images.Prepare(ImageFiles.Load(Kit.DataPath("images", "chelsea.png")), trunk);
        using var dream = DeepDream.Run(trunk, photo, new DeepDreamOptions("layer3.1.relu2", Octaves: 2, StepsPerOctave: 2));
        Assert.Equal(photo.shape, dream.Image.shape);
        Assert.Equal([160L, 224], dream.Octaves.Select(o => o.Height));
        Assert.All(dream.Octaves, o => Assert.True(o.Objective[^1] > o.Objective[0]));
    }
}
