using WhatNetworksLearn.Data;
using WhatNetworksLearn.Features;
using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

public class FeaturesTests
{
    [Fact]
    public void The_same_class_example_is_the_farthest_neighbour_of_its_query_s_class()
    {
        // Points on a line: rows 0 and 1 are queries of class 0; their neighbours mix classes 0 and 1.
        using var points = tensor(new float[] { 0, 10, 1, 7, 50, 3, 12 }).reshape(7, 1);
        int[] labels = [0, 0, 0, 0, 1, 0, 0];
        var example = Embeddings.FarthestSameClass(points, labels, [0, 1], new long[,] { { 2, 4, 3 }, { 6, 5, 4 } });
        Assert.NotNull(example);
        // Same class: 2 (1 from 0), 3 (7 from 0), 6 (2 from 10), 5 (7 from 10); row 4 (class 1, 50 and 40 away) is left out.
        Assert.Equal((0, 2, 3L, 7f), (example.Query, example.Rank, example.Index, example.Distance));
        Assert.Equal(7f, example.MedianDistance);   // distances 1, 50, 7, 2, 7, 40: median (7 + 7) / 2
        Assert.Null(Embeddings.FarthestSameClass(points, [0, 1, 1, 1, 1, 1, 1], [0], new long[,] { { 2, 3 } }));
    }

    [Fact]
    public void Lit_share_counts_the_mask_s_positions_above_a_tenth_of_the_strongest_value()
    {
        // Two 2 x 2 maps; the strongest value of both is 10, so lit means above 1.
        using var maps = tensor(new float[] { 10, 0.5f, 2, 0, /* second */ 1, 3, 3, 3 }).reshape(2, 2, 2);
        using var mask = tensor(new[] { false, true, true, true }).reshape(2, 2);
        var share = ActivationMaps.LitShare(maps, mask).data<float>().ToArray();
        Assert.Equal(new[] { 1 / 3f, 1f }, share);
    }

    [Fact]
    public void Receptive_fields_follow_the_hand_computed_values()
    {
        // conv 3x3 pad 1 -> conv 3x3 pad 1 -> max pool 2 -> conv 3x3 pad 1
        var field = ReceptiveField.Of([new("a", 3, 1, 1), new("b", 3, 1, 1), new("pool", 2, 2, 0), new("c", 3, 1, 1)]);
        Assert.Equal(new ReceptiveField(10, 2, 0.5), field);
        // A dilated 3x3 kernel (dilation 2) spans 5 pixels.
        Assert.Equal(new ReceptiveField(5, 1, 0), ReceptiveField.Of([new("d", 3, 1, 2, Dilation: 2)]));
        // A 7x7 stride-2 convolution with padding 3 then a 3x3 stride-2 max pool with padding 1 (the ResNet stem).
        Assert.Equal(new ReceptiveField(11, 4, 0), ReceptiveField.Of([new("conv1", 7, 2, 3), new("maxpool", 3, 2, 1)]));
    }

    [Fact]
    public void The_fashion_model_fields_are_read_from_its_layers()
    {
        using var model = FashionCnn.Load(CPU);
        Assert.Equal(["conv1", "pool1", "conv2", "pool2", "conv3", "pool3"], ReceptiveField.PathTo(model, "pool3").Select(g => g.Name));
        var field = ReceptiveField.Of(ReceptiveField.PathTo(model, "pool3"));
        Assert.Equal(new ReceptiveField(24, 8, 3.5), field);
        Assert.Equal((0, 0, 16, 16), field.Box(0, 0, 28, 28));
        // Unit (1, 1) is centred on pixel 3.5 + 8 = 11.5: its 24 pixels run from 0 to 23.
        Assert.Equal((0, 0, 24, 24), field.Box(1, 1, 28, 28));
        // Unit (2, 2) is centred on 19.5: from 8 to 31, clipped at the image's edge, 27.
        Assert.Equal((8, 8, 20, 20), field.Box(2, 2, 28, 28));
    }

    [Fact]
    public void A_unit_is_only_affected_by_pixels_inside_its_receptive_field()
    {
        using var model = FashionCnn.Load(CPU);
        using var sample = FashionMnist.LoadSample(limit: 1);
        var field = ReceptiveField.Of(ReceptiveField.PathTo(model, "relu2"));
        using var input = sample.Images.clone().requires_grad_(true);
        using var capture = new LayerCapture(model, ["relu2"], detach: false);
        using (var _ = model.Forward(input)) { }
        // The unit of channel 5 that responds most to this image (a unit that is zero has no gradient at all).
        using var channel = capture["relu2"][0, 5];
        int strongest = (int)channel.argmax().item<long>(), y = strongest / 14, x = strongest % 14;
        channel[y, x].backward();
        var (left, top, width, height) = field.Box(y, x, 28, 28);
        using var outside = input.grad!.clone();
        outside[0, 0, top..(top + height), left..(left + width)] = zeros(height, width);
        Assert.Equal(0f, outside.abs().max().item<float>());
        Assert.True(input.grad!.abs().max().item<float>() > 0, "The unit must depend on some pixel of its field.");
    }

    [Fact]
    public void Non_maximum_suppression_keeps_the_strongest_of_overlapping_regions()
    {
        Region a = new(0, 0, 10, 10), b = new(1, 1, 10, 10), c = new(20, 20, 5, 5);
        Assert.Equal(81.0 / 119, a.IoU(b), 12);
        Assert.Equal(0, a.IoU(c));
        Assert.Equal([0, 2], TopPatches.NonMaximumSuppression([a, b, c], [0.9f, 0.8f, 0.7f], 0.5));
        Assert.Equal([0, 1, 2], TopPatches.NonMaximumSuppression([a, b, c], [0.9f, 0.8f, 0.7f], 0.7));
        Assert.Equal([1, 2], TopPatches.NonMaximumSuppression([a, b, c], [0.1f, 0.8f, 0.7f], 0.5));
    }

    [Fact]
    public void Top_patches_are_the_strongest_activations_of_the_unit()
    {
        using var model = FashionCnn.Load(CPU);
        using var sample = FashionMnist.LoadSample(limit: 200);
        var patches = TopPatches.Find(model, sample.Images, "relu3", channel: 7, count: 6, batchSize: 64);
        Assert.Equal(6, patches.Count);
        Assert.Equal(patches.OrderByDescending(p => p.Activation).Select(p => p.Activation), patches.Select(p => p.Activation));
        Assert.Equal(6, patches.Select(p => p.Image).Distinct().Count());
        var all = model.Activations(sample.Images, "relu3")["relu3"];
        using (all)
        {
            foreach (var p in patches)
                Assert.Equal(all[p.Image, 7, p.Y, p.X].item<float>(), p.Activation, 4);
            // No image has a stronger response of this unit than the strongest patch found.
            Assert.Equal(all[.., 7].max().item<float>(), patches[0].Activation, 4);
        }
    }

    [Fact]
    public void First_layer_filters_are_drawn_one_per_kernel_and_stretched()
    {
        using var model = FashionCnn.Load(CPU);
        var tiles = Filters.FirstLayerTiles(model);
        Assert.Equal(32, tiles.Count);
        Assert.Equal(new long[] { 1, 5, 5 }, tiles[0].Image.shape);
        Assert.Equal(0f, tiles[3].Image.min().item<float>(), 6);
        Assert.Equal(1f, tiles[3].Image.max().item<float>(), 6);
        Assert.Equal(["conv1", "conv2", "conv3"], Filters.ConvolutionLayers(model));
        Assert.Contains("not a convolution", Assert.Throws<ArgumentException>(() => Filters.Weights(model, "relu1")).Message);
    }

    [Fact]
    public void Neighbour_correlation_is_minus_one_for_a_checkerboard_and_a_half_for_a_ramp()
    {
        // A 3 x 3 ramp, equal rows [0, 1, 2]: centred rows [-1, 0, 1]. Across: products (-1)(0), (0)(1) -> mean 0.
        // Down: each column's neighbours are equal -> products 1, 0, 1 -> mean 2/3. Mean square 2/3. (0 + 2/3) / 2 / (2/3) = 0.5.
        using var ramp = tensor(new float[] { 0, 1, 2, 0, 1, 2, 0, 1, 2 }).reshape(1, 1, 3, 3);
        using var checkerboard = tensor(new float[] { 1, -1, 1, -1, /* */ -1, 1, -1, 1, /* */ 1, -1, 1, -1, /* */ -1, 1, -1, 1 }).reshape(1, 1, 4, 4);
        using var both = cat([ramp.expand(1, 2, 3, 3), ramp.expand(1, 2, 3, 3)], 0);
        using var r = Filters.NeighbourCorrelation(ramp);
        Assert.Equal(0.5f, r.item<float>(), 6);
        using var c = Filters.NeighbourCorrelation(checkerboard);
        Assert.Equal(-1f, c.item<float>(), 6);
        using var per = Filters.NeighbourCorrelation(both);
        Assert.Equal(new[] { 0.5f, 0.5f }, per.data<float>().ToArray());
        Assert.Throws<ArgumentException>(() => Filters.NeighbourCorrelation(zeros(2, 5, 5)));
    }

    [Fact]
    public void Activation_maps_are_the_layer_outputs_for_the_image()
    {
        using var model = FashionCnn.Load(CPU);
        using var sample = FashionMnist.LoadSample(limit: 1);
        using var maps = ActivationMaps.Of(model, sample.Images, "relu2");
        var expected = model.Activations(sample.Images, "relu2")["relu2"];
        using (expected)
            Assert.True(maps.allclose(expected[0]));
        Assert.Equal(16, ActivationMaps.Tiles(model, sample.Images, "relu2", channels: 16).Count);
    }
}
