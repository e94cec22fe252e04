using WhatNetworksLearn.Data;
using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

public class ImagesTests
{
    static string Photo(string name) => Path.Combine(Kit.Root(AppContext.BaseDirectory), "data", "images", name);

    [Fact]
    public void Photos_load_as_three_channels_in_the_unit_range()
    {
        using var cat = ImageFiles.Load(Photo("chelsea.png"));
        Assert.Equal(new long[] { 3, 300, 451 }, cat.shape);
        Assert.InRange(cat.min().item<float>(), 0, 1);
        Assert.InRange(cat.max().item<float>(), 0, 1);
        using var camera = ImageFiles.Load(Photo("camera.png"));
        Assert.True(camera[0].allclose(camera[1]) && camera[1].allclose(camera[2]), "A greyscale file gives three equal channels.");
    }

    [Fact]
    public void Damaged_and_missing_files_are_named_in_the_error()
    {
        var damaged = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(damaged, File.ReadAllBytes(Photo("coffee.png"))[..100]);
            Assert.Contains(damaged, Assert.Throws<InvalidDataException>(() => ImageFiles.Load(damaged)).Message);
        }
        finally
        {
            File.Delete(damaged);
        }
        Assert.Throws<FileNotFoundException>(() => ImageFiles.Load("/no/such/image.png"));
    }

    [Fact]
    public void Prepare_scales_the_shorter_side_then_crops_the_centre()
    {
        using var model = FashionCnn.Load(CPU);
        // 1 x 28 x 56: already the right height, so only the centre 28 columns (14..41) are kept.
        using var wide = arange(56f).expand(1, 28, 56).contiguous();
        using var prepared = Images.Prepare(wide, model);
        Assert.Equal(new long[] { 1, 1, 28, 28 }, prepared.shape);
        Assert.Equal(14f, prepared[0, 0, 0, 0].item<float>());
        Assert.Equal(41f, prepared[0, 0, 5, 27].item<float>());
    }

    [Fact]
    public void Prepared_photos_stay_in_the_unit_range()
    {
        // Shrinking coffee.png to 224 x 224 with antialiasing once gave a pixel of 1.0000001, which the attacks refuse.
        using var model = TorchVisionModels.CreateUntrained("resnet18");
        using var coffee = ImageFiles.Load(Photo("coffee.png"));
        using var prepared = Images.Prepare(coffee, model);
        Assert.InRange(prepared.max().item<float>(), 0.99f, 1f);
        Assert.InRange(prepared.min().item<float>(), 0f, 0.01f);
    }

    [Fact]
    public void Prepare_converts_colour_to_luma_for_a_greyscale_model()
    {
        using var model = FashionCnn.Load(CPU);
        using var red = zeros(3, 28, 28);
        red[0] = ones(28, 28);
        using var prepared = Images.Prepare(red, model);
        Assert.Equal(0.299f, prepared.mean().item<float>(), 5);
    }

    [Fact]
    public void Prepare_refuses_an_empty_batch()
    {
        using var model = FashionCnn.Load(CPU);
        using var empty = zeros(0, 1, 28, 28);
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => Images.Prepare(empty, model)).Message);
    }

    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    [Fact]
    public void Random_views_are_the_whole_image_then_crops_every_other_one_mirrored()
    {
        using var model = FashionCnn.Load(CPU);
        using var image = rand(1, 40, 60, generator: new Generator(2));
        using var views = Images.RandomViews(image, model, 5, seed: 3);
        Assert.Equal(new long[] { 5, 1, 28, 28 }, views.shape);
        using var whole = Images.Prepare(image, model);
        Assert.True(Same(views[0], whole[0]));
        // With crops of the full shorter side on a square image there is only one crop: views alternate between it and its mirror.
        using var square = image[.., .., ..40];
        using var full = Images.RandomViews(square, model, 4, seed: 3, smallestSide: 1);
        using var fitted = Images.Prepare(square, model)[0];
        Assert.True(Same(full[1], fitted.flip(2)) && Same(full[2], fitted) && Same(full[3], fitted.flip(2)));
        // Every crop is a part of the image: its pixels' range lies within the image's.
        Assert.True(views.min().item<float>() >= image.min().item<float>() - 1e-6 && views.max().item<float>() <= image.max().item<float>() + 1e-6);
        using var again = Images.RandomViews(image, model, 5, seed: 3);
        using var other = Images.RandomViews(image, model, 5, seed: 4);
        Assert.True(Same(views, again));
        Assert.False(Same(views, other));
        Assert.Throws<ArgumentOutOfRangeException>(() => Images.RandomViews(image, model, 0, seed: 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => Images.RandomViews(image, model, 2, seed: 3, smallestSide: 1.5));
        Assert.Throws<ArgumentException>(() => Images.RandomViews(views, model, 2, seed: 3));
    }
}
