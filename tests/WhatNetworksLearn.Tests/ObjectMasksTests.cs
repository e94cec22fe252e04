using WhatNetworksLearn.Attribution;
using WhatNetworksLearn.Data;
using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

public class ObjectMasksTests
{
    static IReadOnlyList<(double X, double Y)> Polygon(params (double X, double Y)[] vertices) => vertices;

    [Fact]
    public void A_triangle_covers_exactly_the_pixels_whose_centre_lies_inside_it()
    {
        // The triangle (0,0), (4,0), (0,4) holds the centres (c + 0.5, r + 0.5) with c + r + 1 < 4: six of sixteen pixels.
        using var mask = ObjectMasks.Rasterize([Polygon((0, 0), (4, 0), (0, 4))], 4, 4);
        var expected = new float[,] { { 1, 1, 1, 0 }, { 1, 1, 0, 0 }, { 1, 0, 0, 0 }, { 0, 0, 0, 0 } };
        using var want = tensor(expected);
        Assert.True(mask.allclose(want), $"got {mask.ToString(TorchSharp.TensorStringStyle.Numpy)}");
    }

    [Fact]
    public void Polygons_are_united_and_a_square_in_a_wide_image_lands_on_its_rows_and_columns()
    {
        // A square from (1,1) to (3,3) and an overlapping one from (2,1) to (5,2), in 4 rows x 6 columns: overlap stays inside.
        using var mask = ObjectMasks.Rasterize([Polygon((1, 1), (3, 1), (3, 3), (1, 3)), Polygon((2, 1), (5, 1), (5, 2), (2, 2))], 4, 6);
        var expected = new float[,] { { 0, 0, 0, 0, 0, 0 }, { 0, 1, 1, 1, 1, 0 }, { 0, 1, 1, 0, 0, 0 }, { 0, 0, 0, 0, 0, 0 } };
        using var want = tensor(expected);
        Assert.True(mask.allclose(want), $"got {mask.ToString(TorchSharp.TensorStringStyle.Numpy)}");
    }

    [Fact]
    public void A_photo_without_a_mask_is_a_clear_error_that_names_the_photos_with_one()
    {
        var error = Assert.Throws<FileNotFoundException>(() => ObjectMasks.Load("brick.png"));
        Assert.Contains("brick.png has no object mask", error.Message);
        Assert.Contains("chelsea.png", error.Message);
        Assert.Throws<ArgumentException>(() => ObjectMasks.Load("../images/chelsea.png"));
    }

    [Fact]
    public void Every_photo_of_a_saliency_figure_has_a_mask_drawn_at_its_size()
    {
        foreach (var photo in new[] { "chelsea.png", "coffee.png", "astronaut.png", "rocket.jpg" })
        {
            Assert.True(ObjectMasks.Has(photo), $"{photo} has no mask.");
            using var mask = ObjectMasks.Load(photo);
            var image = ImageFiles.Load(Kit.DataPath("images", photo));
            Assert.Equal(image.shape.Skip(1), mask.Mask.shape);
            Assert.InRange(mask.Area, 0.01f, 0.9f);
        }
    }

    [Fact]
    public void The_prepared_mask_lines_up_with_the_prepared_photo()
    {
        using var trunk = ModelRegistry.Load(ModelRegistry.TrunkName, CPU);
        // The cat (78% of the whole photo) fills 96% of the centre square the trunk sees, the cup with its saucer 68% (46%
        // of the whole photo): the expected shares are those of the outline inside the crop window, computed apart.
        using var cat = ObjectMasks.Prepare("chelsea.png", trunk);
        using var cup = ObjectMasks.Prepare("coffee.png", trunk);
        Assert.Equal(new long[] { 224, 224 }, cat.Mask.shape);
        Assert.Equal(0.959, cat.Area, 0.01);
        Assert.Equal(0.682, cup.Area, 0.01);
        // Where the object lies: its centroid, in the prepared pixels, computed apart from the outline and the crop (the
        // cat, left of the centre; the rocket, an upright object, below the middle). A stretched photo would put the cat's
        // 13 pixels further left, a flipped one the rocket's 56 pixels higher.
        foreach (var (photo, x, y) in new[] { ("chelsea.png", 107.2, 110.8), ("coffee.png", 102.9, 119.4), ("rocket.jpg", 112.3, 139.9) })
        {
            using var mask = ObjectMasks.Prepare(photo, trunk);
            using var rows = arange(224, ScalarType.Float32).unsqueeze(1);
            using var columns = arange(224, ScalarType.Float32).unsqueeze(0);
            float area = mask.Mask.sum().item<float>();
            Assert.Equal(x, (mask.Mask * columns).sum().item<float>() / area, 1.5);
            Assert.Equal(y, (mask.Mask * rows).sum().item<float>() / area, 1.5);
        }
    }

    [Fact]
    public void The_share_inside_a_mask_is_the_masks_part_of_the_total_magnitude()
    {
        using var map = tensor(new float[,] { { 1, -3 }, { 0, 0 } });
        using var mask = tensor(new float[,] { { 0, 1 }, { 0, 0 } });
        Assert.Equal(0.75, MapStatistics.ShareInside(map, mask), 6);
        using var wrong = zeros(3, 4);   // neither the map's size nor its shape
        using var smaller = zeros(1, 1);
        Assert.Throws<ArgumentException>(() => MapStatistics.ShareInside(map, smaller));
        Assert.Throws<ArgumentException>(() => MapStatistics.ShareInside(map, wrong));
        // A coarse map is enlarged to the mask first: a 2 x 2 map of its left column over a 4 x 4 mask of the left half.
        using var coarse = tensor(new float[,] { { 1, 0 }, { 1, 0 } });
        using var leftHalf = cat([ones(4, 2), zeros(4, 2)], 1);
        using var rightHalf = 1 - leftHalf;
        double left = MapStatistics.ShareInside(coarse, leftHalf), right = MapStatistics.ShareInside(coarse, rightHalf);
        Assert.Equal(1, left + right, 6);
        Assert.True(left > 0.8, $"{left:P0} of the left column's map on the left half.");
        using var nothing = zeros(2, 2);
        Assert.True(double.IsNaN(MapStatistics.ShareInside(nothing, mask)));
    }

    [Fact]
    public void The_summary_compares_the_share_on_the_object_with_its_area_and_says_when_a_map_is_empty()
    {
        using var mask = new ObjectMask("toy.png", "the square", "a toy", tensor(new float[,] { { 1, 0 }, { 0, 0 } }));
        using var map = tensor(new float[,] { { 2, 1 }, { 1, 0 } });
        Assert.Equal("50% of the map lies on the square, which covers 25% of the image (2.00 times its share)",
            mask.Summary(map).Replace(" %", "%").Replace('\u00a0', ' '));
        using var nothing = zeros(2, 2);
        Assert.Contains("zero everywhere", mask.Summary(nothing));
        Assert.Equal("no map", mask.ShareText(nothing));
        Assert.Equal(0.5.ToString("P0"), mask.ShareText(map));
        using var photo = ones(3, 2, 2);
        using var shown = mask.Over(photo);
        Assert.Equal(new[] { 1f, 0.25f, 0.25f, 0.25f }, shown[0].flatten().data<float>().ToArray());
        using var wrongSize = ones(3, 4, 4);
        Assert.Throws<ArgumentException>(() => mask.Over(wrongSize));
    }
}
