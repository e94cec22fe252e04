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

    [Fact]
    public void Quantiles_are_values_picked_by_rank()
    {
        using var values = tensor(new[] { 5f, 1f, 4f, 2f, 3f }).reshape(1, 5);
        Assert.Equal(1f, Pixels.Quantile(values, 0));
        Assert.Equal(3f, Pixels.Quantile(values, 0.5));
        Assert.Equal(4f, Pixels.Quantile(values, 0.75));   // rank 0.75 x 4 = 3: the fourth smallest
        Assert.Equal(5f, Pixels.Quantile(values, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Pixels.Quantile(values, 1.5));
        Assert.Throws<ArgumentException>(() => Pixels.Quantile(zeros(0), 0.5));
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
    public void A_signed_overlay_paints_on_a_fixed_scale_and_leaves_zero_untouched()
    {
        using var scope = NewDisposeScope();
        var image = full(1, 1, 4, 0.5f);
        var map = tensor(new[] { 0f, 0.1f, 0.2f, -0.4f }).reshape(1, 4);
        var overlay = Plot.SignedOverlay(image, map, scale: 0.2f, opacity: 0.8f);
        float[] Pixel(int x) => overlay[.., 0, x].data<float>().ToArray();
        // 0: the grey image; 0.1 (half the scale): 40% red over it; 0.2: 80% red; -0.4 (clipped to -1): 80% blue.
        Assert.Equal(new[] { 0.5f, 0.5f, 0.5f }, Pixel(0));
        AssertClose(new[] { 0.6f * 0.5f + 0.4f * 0.9f, 0.6f * 0.5f + 0.4f * 0.05f, 0.6f * 0.5f + 0.4f * 0.05f }, Pixel(1));
        AssertClose(new[] { 0.2f * 0.5f + 0.8f * 0.9f, 0.2f * 0.5f + 0.8f * 0.05f, 0.2f * 0.5f + 0.8f * 0.05f }, Pixel(2));
        AssertClose(new[] { 0.2f * 0.5f + 0.8f * 0.1f, 0.2f * 0.5f + 0.8f * 0.35f, 0.2f * 0.5f + 0.8f }, Pixel(3));
        // The same small values on their own stay faint: the scale does not stretch to the map's range.
        var faint = Plot.SignedOverlay(image, map * 0.01f, scale: 0.2f);
        Assert.True((faint - 0.5f).abs().max().item<float>() < 0.02f);
        Assert.Throws<ArgumentOutOfRangeException>(() => Plot.SignedOverlay(image, map, scale: 0));
        // A colour image shows in grey under the map, so that red can only mean the map: a red pixel becomes its luminance.
        var redImage = stack([ones(1, 4), zeros(1, 4), zeros(1, 4)]);
        var onRed = Plot.SignedOverlay(redImage, map, scale: 0.2f, opacity: 0.8f);
        AssertClose(new[] { 0.299f, 0.299f, 0.299f }, onRed[.., 0, 0].data<float>().ToArray());
        AssertClose(new[] { 0.2f * 0.299f + 0.8f * 0.9f, 0.2f * 0.299f + 0.8f * 0.05f, 0.2f * 0.299f + 0.8f * 0.05f }, onRed[.., 0, 2].data<float>().ToArray());
        // The key runs from full blue on the left through grey to full red on the right.
        var key = Plot.SignedKey(height: 2, width: 3);
        AssertClose(new[] { 0.18f, 0.38f, 0.9f }, key[.., 0, 0].data<float>().ToArray());
        AssertClose(new[] { 0.5f, 0.5f, 0.5f }, key[.., 1, 1].data<float>().ToArray());
        AssertClose(new[] { 0.82f, 0.14f, 0.14f }, key[.., 0, 2].data<float>().ToArray());
    }

    [Fact]
    public void A_mask_comparison_colours_agreement_misses_and_extras()
    {
        using var scope = NewDisposeScope();
        var mask = tensor(new[] { 1f, 1f, 0f, 0f }).reshape(2, 2);
        var truth = tensor(new[] { 1f, 0f, 1f, 0f }).reshape(2, 2);
        var picture = Plot.MaskComparison(mask, truth);
        Assert.Equal(new[] { 1f, 1f, 1f }, picture[.., 0, 0].data<float>().ToArray());          // both: white
        Assert.Equal(new[] { 0.2f, 0.45f, 1f }, picture[.., 0, 1].data<float>().ToArray());     // mask only: blue
        Assert.Equal(new[] { 0.9f, 0.1f, 0.1f }, picture[.., 1, 0].data<float>().ToArray());    // truth only: red
        Assert.Equal(new[] { 0f, 0f, 0f }, picture[.., 1, 1].data<float>().ToArray());          // neither: black
        Assert.Throws<ArgumentException>(() => Plot.MaskComparison(mask, zeros(3, 3)));
    }

    static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) < 1e-5, $"component {i}: expected {expected[i]}, got {actual[i]}");
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
    public void A_white_box_shows_on_a_white_image()
    {
        using var white = ones(3, 40, 40);
        var figure = Plot.Grid([new Tile(white) { Boxes = [new Box(10, 10, 20, 20)] }], "", columns: 1, tileSize: 40);
        using var bitmap = SKBitmap.Decode(figure.Png);
        // Margin 8: the box's left edge runs down x = 18, its rim darkens the pixels beside it.
        Assert.True(bitmap.GetPixel(16, 28).Red < 200, $"The rim is {bitmap.GetPixel(16, 28)}.");
        Assert.Equal(new SKColor(255, 255, 255), bitmap.GetPixel(28, 28));   // inside the box the image is untouched
    }

    [Fact]
    public void A_note_under_the_title_adds_its_lines_but_not_to_the_file_name()
    {
        using var red = stack([ones(10, 10), zeros(10, 10), zeros(10, 10)]);
        var plain = Plot.Grid([new Tile(red)], "Title", columns: 1, tileSize: 20);
        var noted = Plot.Grid([new Tile(red)], "Title", columns: 1, tileSize: 20, note: "mean IoU 0.83");
        Assert.Equal(plain.Slug, noted.Slug);
        Assert.Equal(plain.Height + 14 + 6, noted.Height);   // one caption line and its gap
        using var bitmap = SKBitmap.Decode(noted.Png);
        Assert.Equal(new SKColor(255, 0, 0), bitmap.GetPixel(18, noted.Height - 18));   // the tile moved down with it
    }

    [Fact]
    public void Row_labels_take_a_column_left_of_the_rows_and_must_be_one_per_row()
    {
        using var red = stack([ones(10, 10), zeros(10, 10), zeros(10, 10)]);
        Tile[] tiles = [new(red), new(red), new(red), new(red)];
        var plain = Plot.Grid(tiles, "", columns: 2, tileSize: 20);
        var labelled = Plot.Grid(tiles, "", columns: 2, tileSize: 20, rowLabels: ["layer2 unit 7", "layer4 unit 300"]);
        Assert.Equal(plain.Width + 110 + 6, labelled.Width);   // the label column and its gap
        using var bitmap = SKBitmap.Decode(labelled.Png);
        // The first tile moved right by the column: its centre is at (18 + 116, 18); the column holds dark text.
        Assert.Equal(new SKColor(255, 0, 0), bitmap.GetPixel(18 + 116, 18));
        var column = Enumerable.Range(8, 100).SelectMany(x => Enumerable.Range(8, 20).Select(y => bitmap.GetPixel(x, y)));
        Assert.Contains(column, c => c.Red < 128);
        Assert.Contains("one label per row", Assert.Throws<ArgumentException>(() => Plot.Grid(tiles, "", columns: 2, tileSize: 20, rowLabels: ["only one"])).Message);
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

    [Fact]
    public void A_fixed_y_range_puts_each_value_where_the_range_says()
    {
        // The line at y = 0.25 on an axis from 0 to 1 lies three quarters of the way down the plot (rows 34 to 292);
        // on the series' own range it would sit in the middle.
        var line = new Series("quarter", [0.0, 1.0], [0.25, 0.25]);
        var figure = LineChart.Draw([line], "t", "x", "y", yRange: (0, 1));
        using var bitmap = SKBitmap.Decode(figure.Png);
        int row = (int)Math.Round(34 + 0.75 * 258), column = 300;
        bool Blue(int y) => bitmap.GetPixel(column, y) is var c && c.Blue > 150 && c.Red < 100;
        Assert.True(Blue(row) || Blue(row - 1) || Blue(row + 1));
        Assert.False(Blue(163));
        Assert.Throws<ArgumentOutOfRangeException>(() => LineChart.Draw([line], "t", "x", "y", yRange: (0.5, 1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => LineChart.Draw([line], "t", "x", "y", yRange: (1, 0)));
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
    public void Series_of_one_group_share_a_colour_and_a_dashed_line_has_gaps()
    {
        var x = new double[] { 0, 1 };
        Series Line(string name, double y, string? group, bool dashed = false) => new(name, x, [y, y], group, dashed);
        Assert.Equal([0, 0, 1, 1, 2, 3, 0], LineChart.ColourIndices([Line("a, mean", 0, "a"), Line("a, worst", 0, "a", true), Line("b, mean", 0, "b"),
            Line("b, worst", 0, "b", true), Line("c", 0, null), Line("d", 0, null), Line("a, best", 0, "a")]));
        // Two flat lines: the solid one (y = 1, top of the plot) is blue along its whole length, the dashed one (y = 0,
        // bottom), of the same group, is blue too but broken into dashes.
        var figure = LineChart.Draw([Line("mean", 1, "run"), Line("worst", 0, "run", true)], "X", "x", "y");
        using var bitmap = SKBitmap.Decode(figure.Png);
        var blue = new SKColor(0x1f, 0x77, 0xb4);
        static bool Near(SKColor c, SKColor target) => Math.Abs(c.Red - target.Red) + Math.Abs(c.Green - target.Green) + Math.Abs(c.Blue - target.Blue) < 60;
        int RowWithMostBlue(int fromRow, int toRow) => Enumerable.Range(fromRow, toRow - fromRow)
            .MaxBy(row => Enumerable.Range(0, bitmap.Width).Count(col => Near(bitmap.GetPixel(col, row), blue)));
        double BlueShare(int row) => Enumerable.Range(80, 220).Count(col => Near(bitmap.GetPixel(col, row), blue)) / 220.0;   // left of any legend
        Assert.True(BlueShare(RowWithMostBlue(34, 170)) > 0.95);
        Assert.InRange(BlueShare(RowWithMostBlue(170, 292)), 0.3, 0.7);
    }

    [Theory]
    [InlineData(-0.3, 0.7)]
    [InlineData(-0.61, 0.45)]
    [InlineData(-1.1, 2.3)]
    [InlineData(-0.07, 0.05)]
    [InlineData(-3, 12)]
    [InlineData(-0.0123, 0.0456)]
    public void Chart_ticks_never_read_minus_zero(double min, double max)
    {
        var ticks = LineChart.Ticks(min, max).ToList();
        Assert.DoesNotContain(ticks, t => t.Label.StartsWith('-') && double.Parse(t.Label, System.Globalization.CultureInfo.InvariantCulture) == 0);
        var zero = Assert.Single(ticks, t => t.Value == 0);
        Assert.Matches("^0(\\.0+)?$", zero.Label);
        // Every label is its value, rounded to the step's decimals.
        double step = ticks[1].Value - ticks[0].Value;
        Assert.All(ticks, t => Assert.Equal(t.Value, double.Parse(t.Label, System.Globalization.CultureInfo.InvariantCulture), step / 100));
    }

    [Fact]
    public void Wrapped_text_fits_its_width_and_keeps_every_character()
    {
        using var paint = Fonts.Paint(11, SKColors.Black);
        foreach (var text in new[] { "layer3.1.relu2 #0", "a caption of several words that needs three lines", "first line\nsecond", "abcdefghijklmnopqrstuvwxyz0123456789" })
        {
            var lines = Fonts.Wrap(text, paint, 60);
            Assert.All(lines, l => Assert.True(paint.MeasureText(l) <= 60, $"'{l}' is {paint.MeasureText(l)} px wide."));
            Assert.Equal(text.Replace(" ", "").Replace("\n", ""), string.Concat(lines).Replace(" ", ""));
        }
        // A dotted layer name breaks after a dot, not inside a word.
        using var small = Fonts.Paint(11, SKColors.Black);
        Assert.Equal(["layer3.1.", "relu2 #0"], Fonts.Wrap("layer3.1.relu2 #0", small, small.MeasureText("layer3.1.re")));
    }

    [Fact]
    public void Caption_text_shrinks_until_its_words_fit_but_no_further_than_the_smallest_size()
    {
        using var at11 = Fonts.Paint(11, SKColors.Black);
        float width = at11.MeasureText("layer3.1.relu2") - 1;
        float size = Fonts.SizeToFit(["layer3.1.relu2 #0", "short"], width, 11, 9);
        Assert.True(size < 11);
        using var chosen = Fonts.Paint(size, SKColors.Black);
        Assert.True(chosen.MeasureText("layer3.1.relu2") <= width);
        Assert.Equal(11, Fonts.SizeToFit(["short"], width, 11, 9));
        Assert.Equal(9, Fonts.SizeToFit(["averyveryverylongwordindeed"], 20, 11, 9));
    }

    [Fact]
    public void A_grid_makes_room_for_captions_that_wrap()
    {
        using var image = zeros(3, 10, 10);
        var oneLine = Plot.Grid([new Tile(image, "#0")], "", columns: 1, tileSize: 40);
        var wrapped = Plot.Grid([new Tile(image, "a caption far too long for forty pixels")], "", columns: 1, tileSize: 40);
        Assert.Equal(oneLine.Width, wrapped.Width);
        Assert.True(wrapped.Height >= oneLine.Height + 3 * 11, $"{wrapped.Height} vs {oneLine.Height}: the wrapped caption needs more lines.");
    }

    [Fact]
    public void Image_shaped_tensors_show_as_pictures_and_others_as_numbers()
    {
        using var image = rand(3, 16, 16);
        using var logits = rand(1, 10);
        Assert.Contains("data:image/png;base64,", Formatters.TensorHtml(image));
        Assert.StartsWith("<pre>", Formatters.TensorHtml(logits));
    }

    [Fact]
    public void Gradient_pictures_centre_zero_at_grey_and_scale_by_the_largest_magnitude()
    {
        using var gradient = tensor(new float[] { -2, 0, 1, 2 }).reshape(1, 2, 2);
        using var picture = Plot.Gradient(gradient);
        Assert.Equal(new float[] { 0, 0.5f, 0.75f, 1 }, picture.data<float>().ToArray());
        // Non-zero magnitudes 1, 2, 4: the median, 2, becomes the scale instead of 4, and -4 saturates to black.
        using var strong = tensor(new float[] { -4, 0, 1, 2 }).reshape(1, 2, 2);
        using var clipped = Plot.Gradient(strong, clipQuantile: 0.5);
        Assert.Equal(new float[] { 0, 0.5f, 0.75f, 1 }, clipped.data<float>().ToArray());
        using var unclipped = Plot.Gradient(strong);
        Assert.Equal(new float[] { 0, 0.5f, 0.625f, 0.75f }, unclipped.data<float>().ToArray());
        using var flat = zeros(3, 2, 2);
        using var grey = Plot.Gradient(flat);
        Assert.True(grey.eq(0.5f).all().item<bool>());
    }
}
