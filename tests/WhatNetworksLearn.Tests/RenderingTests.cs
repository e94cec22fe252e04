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
        // A range that starts just below zero (a chart padded around probabilities of 0) labels zero "0.00", never "-0.00".
        Assert.Equal(["0.00", "0.25", "0.50", "0.75", "1.00"], LineChart.Ticks(-0.05, 1.05).Select(t => t.Label));
        Assert.Equal(["-0.2", "-0.1", "0.0", "0.1", "0.2"], LineChart.Ticks(-0.25, 0.25).Select(t => t.Label));
    }

    static readonly SKRect ChartPlot = new(64, 34, 544, 292);

    [Fact]
    public void The_legend_leaves_a_corner_a_curve_passes_through_for_a_free_one()
    {
        var size = new SKSize(120, 34);
        // A line falling from the top-left corner to the bottom-right one: the legend's first choice (top left) is taken.
        IReadOnlyList<SKPoint> falling = [new(64, 34), new(544, 292)];
        var corner = LineChart.FreeCorner(ChartPlot, size, [falling]);
        Assert.Equal(SKRect.Create(544 - 6 - 120, 34 + 6, 120, 34), corner);
        // One dot alone in the top-right corner pushes it past the bottom right (the line ends there) to the bottom left.
        IReadOnlyList<SKPoint> dot = [new(500, 50)];
        Assert.Equal(SKRect.Create(64 + 6, 292 - 6 - 34, 120, 34), LineChart.FreeCorner(ChartPlot, size, [falling, dot]));
        // An X through all four corners leaves none.
        IReadOnlyList<SKPoint> rising = [new(64, 292), new(544, 34)];
        Assert.Null(LineChart.FreeCorner(ChartPlot, size, [falling, rising]));
    }

    [Fact]
    public void A_free_corner_is_free_of_every_point_of_every_line()
    {
        var random = new Random(5);
        var size = new SKSize(150, 48);
        int placed = 0;
        for (int trial = 0; trial < 300; trial++)
        {
            var lines = Enumerable.Range(0, random.Next(1, 4)).Select(_ => (IReadOnlyList<SKPoint>)Enumerable.Range(0, random.Next(1, 6))
                .Select(_ => new SKPoint(64 + 480 * random.NextSingle(), 34 + 258 * random.NextSingle())).ToList()).ToList();
            if (LineChart.FreeCorner(ChartPlot, size, lines) is not { } corner)
                continue;
            placed++;
            // Checked independently of the clipping: points every half pixel along every segment stay out of the box.
            foreach (var line in lines)
            {
                Assert.False(corner.Contains(line[0]));
                for (int k = 1; k < line.Count; k++)
                {
                    var (a, b) = (line[k - 1], line[k]);
                    int samples = (int)(2 * SKPoint.Distance(a, b)) + 1;
                    for (int j = 0; j <= samples; j++)
                        Assert.False(corner.Contains(a + new SKPoint((b.X - a.X) * j / samples, (b.Y - a.Y) * j / samples)), $"trial {trial}");
                }
            }
        }
        Assert.InRange(placed, 50, 299);   // both outcomes occur
    }

    [Fact]
    public void When_every_corner_is_taken_the_legend_moves_right_of_the_curves()
    {
        var x = new double[] { 0, 1 };
        var figure = LineChart.Draw([new Series("rising", x, [0, 1]), new Series("falling, with a long name", x, [1, 0])], "X", "x", "y");
        using var bitmap = SKBitmap.Decode(figure.Png);
        static bool Near(SKColor c, SKColor target) => Math.Abs(c.Red - target.Red) + Math.Abs(c.Green - target.Green) + Math.Abs(c.Blue - target.Blue) < 60;
        int RightmostColumn(SKColor colour, int fromRow, int toRow) =>
            Enumerable.Range(0, bitmap.Width).Where(col => Enumerable.Range(fromRow, toRow - fromRow).Any(row => Near(bitmap.GetPixel(col, row), colour))).Max();
        var red = new SKColor(0xd6, 0x27, 0x28);
        // Below the legend's rows, the red line falls to the plot's right edge, well left of the usual one (16 pixels from the border)...
        int lineEnd = RightmostColumn(red, 120, 295);
        Assert.InRange(lineEnd, 300, figure.Width - 16 - 100);
        // ... and in the legend's rows, the red entry sits further right, beyond both curves.
        Assert.True(RightmostColumn(red, 34, 75) > lineEnd + 100);
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
