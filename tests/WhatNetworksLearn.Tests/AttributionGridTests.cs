using WhatNetworksLearn.Rendering;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

public class AttributionGridTests
{
    [Fact]
    public void Each_scale_rule_puts_full_colour_where_it_says()
    {
        using var map = tensor(new float[] { 0, -1, 2, 3, -8 }).reshape(1, 5);   // magnitudes 0, 1, 2, 3, 8
        Assert.Equal(8f, MapScale.OwnMaximum.FullColourAt(map));
        Assert.Equal(3f, MapScale.OwnQuantile(0.75).FullColourAt(map));   // rank 0.75 x 4 = 3 of the sorted magnitudes
        Assert.Equal(0.5f, MapScale.Fixed(0.5).FullColourAt(map));
        // Mostly zeros: the quantile is 0, so the maximum takes its place; a map of zeros gets 1 and draws nothing.
        using var sparse = tensor(new float[] { 0, 0, 0, 0, 5 }).reshape(1, 5);
        Assert.Equal(5f, MapScale.OwnQuantile(0.75).FullColourAt(sparse));
        using var nothing = zeros(2, 2);
        Assert.Equal(1f, MapScale.OwnMaximum.FullColourAt(nothing));
        Assert.Throws<ArgumentOutOfRangeException>(() => MapScale.OwnQuantile(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => MapScale.Fixed(0));
    }

    [Fact]
    public void The_rule_is_stated_in_words_and_blue_only_for_signed_maps()
    {
        using var positive = ones(2, 3, 3);
        using var signed = -ones(2, 3, 3);
        Assert.Equal("Each map over its image: red where positive, clear at 0, in full colour in its own top 1% of magnitudes.",
            AttributionGrid.ColourRule([new("a", positive)], MapScale.OwnQuantile(0.99)));
        Assert.Equal("Each map over its image: red where positive, blue where negative, clear at 0, in full colour at 1 (a drop of 100 points), the same for every map.",
            AttributionGrid.ColourRule([new("a", positive), new("b", signed)], MapScale.Fixed(1, "a drop of 100 points")));
        Assert.Equal("at its own largest magnitude", MapScale.OwnMaximum.ToString());
    }

    [Fact]
    public void Tiles_run_by_image_or_by_method_with_their_captions()
    {
        using var scope = NewDisposeScope();
        var images = full(2, 1, 2, 2, 0.5f);
        var first = tensor(new float[] { 0, 1, 0, 0, /* second image */ 0, 0, 2, 0 }).reshape(2, 2, 2);
        var second = zeros(2, 2, 2);   // all zero: the caption says so
        MapSet[] methods = [new("first", first, ["first\none", "first\ntwo"]), new("second", second)];
        var byImage = AttributionGrid.Tiles(images, ["image one", "image two"], methods, MapScale.OwnMaximum, GridRows.Images);
        Assert.Equal(["image one", "first\none", "second, all 0", "image two", "first\ntwo", "second, all 0"], byImage.Select(t => t.Caption));
        var byMethod = AttributionGrid.Tiles(images, ["image one", "image two"], [new("first", first, ["first\none", "first\ntwo"])], MapScale.OwnMaximum, GridRows.Methods);
        Assert.Equal(["image one", "image two", "first\none", "first\ntwo"], byMethod.Select(t => t.Caption));
        Assert.Equal("first, all 0\nnone", AttributionGrid.Tiles(images.narrow(0, 0, 1), ["i"], [new("first", second.narrow(0, 0, 1), ["first\nnone"])],
            MapScale.OwnMaximum, GridRows.Images)[1].Caption);

        // Each map reaches full colour at its own largest value, wherever that lies: 80% red over the grey image.
        float[] Pixel(Tile tile, int y, int x) => tile.Image[.., y, x].data<float>().ToArray();
        float[] fullRed = [0.2f * 0.5f + 0.8f * 0.9f, 0.2f * 0.5f + 0.8f * 0.05f, 0.2f * 0.5f + 0.8f * 0.05f];
        Assert.Equal(fullRed, Pixel(byImage[1], 0, 1), new ToleranceComparer());
        Assert.Equal(fullRed, Pixel(byImage[4], 1, 0), new ToleranceComparer());
        Assert.Equal([0.5f, 0.5f, 0.5f], Pixel(byImage[1], 1, 1), new ToleranceComparer());   // 0: the image untouched
        Assert.Equal(images[0].expand(3, 2, 2).data<float>().ToArray(), byImage[2].Image.data<float>().ToArray());
    }

    [Fact]
    public void A_grid_has_a_column_for_the_image_and_each_method_or_one_per_image()
    {
        using var scope = NewDisposeScope();
        var images = rand(4, 3, 8, 8, generator: new Generator(1));
        MapSet[] one = [new("a", rand(4, 8, 8, generator: new Generator(2)))];
        string[] captions = ["w", "x", "y", "z"];
        var byImage = AttributionGrid.Draw(images, captions, one, MapScale.OwnMaximum, "", tileSize: 400);
        var byMethod = AttributionGrid.Draw(images, captions, one, MapScale.OwnMaximum, "", GridRows.Methods, tileSize: 400);
        // Margins 8 and gaps 6: two columns (the image, the method) in four rows, or four columns (the images) in two.
        Assert.Equal(2 * 8 + 2 * 400 + 6, byImage.Width);
        Assert.Equal(2 * 8 + 4 * 400 + 3 * 6, byMethod.Width);
        Assert.True(byImage.Height > byMethod.Height);
    }

    [Fact]
    public void Maps_that_do_not_match_the_images_are_refused_with_what_to_do()
    {
        using var scope = NewDisposeScope();
        var images = zeros(2, 1, 4, 4);
        var attributions = zeros(2, 1, 4, 4);
        var error = Assert.Throws<ArgumentException>(() => AttributionGrid.Draw(images, ["a", "b"], [new("raw", attributions)], MapScale.OwnMaximum, "t"));
        Assert.Contains("Attributions.PerPixel", error.Message);
        Assert.Throws<ArgumentException>(() => AttributionGrid.Draw(images, ["a"], [new("m", zeros(2, 4, 4))], MapScale.OwnMaximum, "t"));
        Assert.Throws<ArgumentException>(() => AttributionGrid.Draw(images, ["a", "b"], [new("m", zeros(3, 4, 4))], MapScale.OwnMaximum, "t"));
        Assert.Throws<ArgumentException>(() => AttributionGrid.Draw(images, ["a", "b"], [new("m", zeros(2, 4, 4), ["only one"])], MapScale.OwnMaximum, "t"));
        Assert.Throws<ArgumentException>(() => AttributionGrid.Draw(images, ["a", "b"], [], MapScale.OwnMaximum, "t"));
    }

    sealed class ToleranceComparer : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) < 1e-5;
        public int GetHashCode(float value) => 0;
    }
}
