using SkiaSharp;
using WhatNetworksLearn.Notebook;
using WhatNetworksLearn.Rendering;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

public class RenderingTests
{
    [Fact]
    public void Pixels_survive_a_round_trip_through_a_bitmap_exactly()
    {
        manual_seed(3);
        using var bytes = randint(0, 256, [3, 5, 7]).to_type(ScalarType.Float32);
        using var image = bytes / 255;
        using var bitmap = Pixels.ToBitmap(image);
        using var back = Pixels.FromBitmap(bitmap);
        Assert.Equal(0f, (back * 255 - bytes).abs().max().item<float>(), 3);
    }

    [Fact]
    public void A_greyscale_image_becomes_equal_red_green_and_blue()
    {
        using var grey = tensor(new[] { 0f, 0.5f, 1f, 0.25f }).reshape(1, 2, 2);
        using var bitmap = Pixels.ToBitmap(grey);
        var pixel = bitmap.GetPixel(1, 0); // value 0.5 at row 0, column 1
        Assert.Equal((byte)128, pixel.Red);
        Assert.Equal(pixel.Red, pixel.Green);
        Assert.Equal(pixel.Red, pixel.Blue);
    }

    [Fact]
    public void Shapes_that_are_not_an_image_are_refused()
    {
        using var four = zeros(4, 8, 8);
        var error = Assert.Throws<ArgumentException>(() => Pixels.AsChw(four));
        Assert.Contains("[4, 8, 8]", error.Message);
    }

    [Fact]
    public void Normalize_maps_the_range_to_zero_one_and_a_constant_to_a_half()
    {
        using var values = tensor(new[] { 2f, 4f, 6f });
        using var normal = Pixels.Normalize(values);
        Assert.Equal(new[] { 0f, 0.5f, 1f }, normal.data<float>().ToArray());
        using var constant = full(3, 7f);
        using var half = Pixels.Normalize(constant);
        Assert.All(half.data<float>().ToArray(), v => Assert.Equal(0.5f, v));
    }

    [Theory]
    [InlineData(Colormap.Jet, 0f, 0f, 0f, 0.5f)]
    [InlineData(Colormap.Jet, 0.5f, 0.5f, 1f, 0.5f)]
    [InlineData(Colormap.Jet, 1f, 0.5f, 0f, 0f)]
    [InlineData(Colormap.Hot, 0.5f, 1f, 0.5f, 0f)]
    [InlineData(Colormap.Diverging, -1f, 0f, 0f, 1f)]
    [InlineData(Colormap.Diverging, 0f, 1f, 1f, 1f)]
    [InlineData(Colormap.Diverging, 1f, 1f, 0f, 0f)]
    [InlineData(Colormap.Grey, 0.25f, 0.25f, 0.25f, 0.25f)]
    public void Colormaps_give_the_hand_computed_colours(Colormap colormap, float value, float red, float green, float blue)
    {
        using var map = full(1, 1, value);
        using var rgb = Colormaps.Apply(map, colormap);
        Assert.Equal(new[] { red, green, blue }, rgb.flatten().data<float>().ToArray());
    }

    [Fact]
    public void A_heat_map_overlay_blends_image_and_colours_by_opacity()
    {
        using var image = full(3, 4, 4, 0.2f);
        using var map = linspace(0, 1, 16).reshape(4, 4);
        using var colours = Colormaps.Apply(map, Colormap.Jet);
        using var none = Plot.HeatMapOverlay(image, map, opacity: 0);
        using var full_ = Plot.HeatMapOverlay(image, map, opacity: 1);
        using var half = Plot.HeatMapOverlay(image, map, opacity: 0.5f);
        Assert.True(none.allclose(image));
        Assert.True(full_.allclose(colours));
        Assert.True(half.allclose((image + colours) / 2));
    }

    [Fact]
    public void A_grid_draws_each_tile_in_its_cell()
    {
        using var red = stack([ones(10, 10), zeros(10, 10), zeros(10, 10)]);
        using var blue = stack([zeros(10, 10), zeros(10, 10), ones(10, 10)]);
        var figure = Plot.Grid([new Tile(red), new Tile(blue)], "", columns: 2, tileSize: 20);
        using var bitmap = SKBitmap.Decode(figure.Png);
        Assert.Equal(figure.Width, bitmap.Width);
        // Margin 8, tile 20, gap 6: the first cell's centre is at (18, 18), the second's at (44, 18).
        Assert.Equal(new SKColor(255, 0, 0), bitmap.GetPixel(18, 18));
        Assert.Equal(new SKColor(0, 0, 255), bitmap.GetPixel(44, 18));
    }

    [Fact]
    public void Figure_titles_become_file_names()
    {
        Assert.Equal("a-sample-photo-chelsea-the-cat", Figure.MakeSlug("A sample photo: Chelsea the cat"));
        Assert.Equal("figure", Figure.MakeSlug("!!"));
    }

    [Fact]
    public void Chart_ticks_are_round_numbers_covering_the_range()
    {
        Assert.Equal(["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"], LineChart.Ticks(0, 1).Select(t => t.Label));
        Assert.Equal(["10", "20", "30", "40", "50"], LineChart.Ticks(8, 52).Select(t => t.Label));
        Assert.Equal(["0", "10", "20"], LineChart.Ticks(-4.5, 22).Select(t => t.Label));   // not "-0"
    }

    [Fact]
    public void The_legend_goes_to_the_emptiest_corner_top_left_first()
    {
        var plot = SKRect.Create(0, 0, 100, 100);
        Assert.Equal(SKRect.Create(4, 4, 30, 20), LineChart.PlaceLegend([], plot, 30, 20));
        // A curve that rises fast and stays high fills the top left and the top right; the bottom right is free.
        var rising = Enumerable.Range(0, 100).Select(x => new SKPoint(x, x < 20 ? 100 - 5 * x : 10)).ToList();
        Assert.Equal(SKRect.Create(66, 76, 30, 20), LineChart.PlaceLegend(rising, plot, 30, 20));
    }

    [Fact]
    public void Image_shaped_tensors_show_as_pictures_and_others_as_numbers()
    {
        using var image = rand(3, 16, 16);
        using var logits = rand(1, 10);
        Assert.Contains("data:image/png;base64,", Formatters.TensorHtml(image));
        Assert.StartsWith("<pre>", Formatters.TensorHtml(logits));
    }
}
