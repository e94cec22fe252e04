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
    public void Every_photo_loads_and_is_listed_with_its_checksum_and_size_in_the_licences()
    {
        var folder = Path.GetDirectoryName(Photo("chelsea.png"))!;
        var licences = File.ReadAllText(Path.Combine(folder, "LICENSES.md"));
        var photos = ImageFiles.LoadFolder(folder);
        var extra = ImageFiles.LoadFolder(Path.Combine(folder, "extra"));   // notebook 05's further photos, listed in the same file
        Assert.True(photos.Count >= 15, $"Only {photos.Count} photos.");
        Assert.True(photos.Count + extra.Count >= 30, $"Only {photos.Count + extra.Count} photos in all.");
        Assert.Equal(photos.Select(p => p.Name).Order(StringComparer.Ordinal), photos.Select(p => p.Name));
        foreach (var (name, image) in photos.Concat(extra.Select(p => ($"extra/{p.Name}", p.Image))))
        {
            using (image)
            {
                var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Path.Combine(folder, name))));
                var row = licences.Split('\n').SingleOrDefault(l => l.StartsWith($"| `{name}` |"));
                Assert.True(row is not null, $"{name} has no row in LICENSES.md.");
                Assert.Contains($"`{hash}`", row);
                Assert.Contains($"| {image.shape[2]} × {image.shape[1]} |", row);
                Assert.Equal(3, image.shape[0]);
            }
        }
        Assert.Throws<DirectoryNotFoundException>(() => ImageFiles.LoadFolder("/no/such/folder"));
    }

    [Fact]
    public void Scale_sets_the_shorter_side_keeps_the_shape_and_converts_channels()
    {
        using var fashion = FashionCnn.Load(CPU);
        using var cat = ImageFiles.Load(Photo("chelsea.png"));   // 3 x 300 x 451
        using var grey = Images.Scale(cat, fashion, 150);
        Assert.Equal(new long[] { 1, 1, 150, 226 }, grey.shape);
        using var tall = cat.transpose(1, 2);                   // 3 x 451 x 300
        using var scaled = Images.Scale(tall, fashion, 60);
        Assert.Equal(new long[] { 1, 1, 90, 60 }, scaled.shape);
        Assert.Throws<ArgumentOutOfRangeException>(() => Images.Scale(cat, fashion, 0));
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

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    public void A_phone_photo_is_turned_upright_by_its_exif_orientation(int orientation)
    {
        // Stored 60 wide and 40 high, in four colour blocks; phones store a photo taken upright as orientation 6.
        using var stored = zeros(3, 40, 60);
        stored[0, ..20, ..30] = ones(20, 30);   // red top left
        stored[1, ..20, 30..] = ones(20, 30);   // green top right
        stored[2, 20.., ..30] = ones(20, 30);   // blue bottom left
        var plain = WriteJpeg(stored, orientation: null);
        var tagged = WriteJpeg(stored, orientation);
        try
        {
            using var asStored = ImageFiles.Load(plain);
            using var loaded = ImageFiles.Load(tagged);
            // What a photo viewer shows, written with torch's quarter turns (k = -1: clockwise on the screen) and flips.
            using var expected = orientation switch
            {
                1 => asStored.clone(),
                2 => asStored.flip(2),
                3 => asStored.rot90(2, (1, 2)),
                4 => asStored.flip(1),
                5 => asStored.rot90(-1, (1, 2)).flip(2),
                6 => asStored.rot90(-1, (1, 2)),
                7 => asStored.rot90(-1, (1, 2)).flip(1),
                _ => asStored.rot90(1, (1, 2)),
            };
            Assert.Equal(orientation >= 5 ? new long[] { 3, 60, 40 } : new long[] { 3, 40, 60 }, loaded.shape);
            Assert.True(SynthesisTests.Identical(loaded, expected));
            if (orientation == 6)   // turned clockwise: the red block that was top left is now top right
                Assert.True(loaded[0, ..20, 20..].mean().item<float>() > 0.9f && loaded[0, 40.., ..20].mean().item<float>() < 0.1f);
        }
        finally
        {
            File.Delete(plain);
            File.Delete(tagged);
        }
    }

    /// <summary>A JPEG of the image, with an EXIF block holding only the orientation tag when one is given.</summary>
    static string WriteJpeg(Tensor image, int? orientation)
    {
        using var bitmap = Rendering.Pixels.ToBitmap(image);
        using var encoded = bitmap.Encode(SkiaSharp.SKEncodedImageFormat.Jpeg, 95);
        var jpeg = encoded.ToArray();
        if (orientation is int value)
        {
            // APP1 "Exif": a big-endian TIFF header and one IFD with one entry, Orientation (0x0112, SHORT, count 1).
            byte[] tiff = [(byte)'M', (byte)'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, (byte)value, 0, 0, 0, 0, 0, 0];
            byte[] payload = [.. "Exif\0\0"u8, .. tiff];
            int length = payload.Length + 2;
            jpeg = [.. jpeg[..2], 0xFF, 0xE1, (byte)(length >> 8), (byte)length, .. payload, .. jpeg[2..]];
        }
        var path = Path.Combine(Path.GetTempPath(), $"orientation-{Guid.NewGuid():N}.jpg");
        File.WriteAllBytes(path, jpeg);
        return path;
    }

    [Fact]
    public void Prepare_scales_the_shorter_side_then_crops_the_centre()
    {
        using var model = FashionCnn.Load(CPU);
        // 1 x 28 x 56: already the right height, so only the centre 28 columns (14..41) are kept.
        using var wide = (arange(56f) / 55).expand(1, 28, 56).contiguous();
        using var prepared = Images.Prepare(wide, model);
        Assert.Equal(new long[] { 1, 1, 28, 28 }, prepared.shape);
        Assert.Equal(14f / 55, prepared[0, 0, 0, 0].item<float>(), 6);
        Assert.Equal(41f / 55, prepared[0, 0, 5, 27].item<float>(), 6);
    }

    [Fact]
    public void Resize_antialiases_when_it_shrinks_keeps_a_batch_of_its_size_and_refuses_a_single_image()
    {
        // Four columns to one: the antialiasing triangle, stretched four times, weighs the four pixels 5 : 7 : 7 : 5, so (1, 0, 0, 1)
        // gives 10/24; plain bilinear would read only the middle two (0).
        using var batch = tensor(new float[] { 1, 0, 0, 1 }).reshape(1, 1, 1, 4);
        using var one = Images.Resize(batch, 1, 1);
        Assert.Equal(10f / 24, one.item<float>(), 6);
        Assert.Same(batch, Images.Resize(batch, 1, 4));
        using var single = zeros(1, 2, 4);
        Assert.Contains("unsqueeze(0)", Assert.Throws<ArgumentException>(() => Images.Resize(single, 1, 2)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Images.Resize(batch, 0, 2));
    }

    [Fact]
    public void Prepare_divides_bytes_by_255_and_refuses_floating_point_values_outside_the_unit_range()
    {
        using var model = FashionCnn.Load(CPU);
        using var bytes = full(1, 28, 28, 51, ScalarType.Byte);
        using var prepared = Images.Prepare(bytes, model);
        Assert.True(prepared.allclose(full(1, 1, 28, 28, 0.2f)));
        // The same values as floats are ambiguous (bytes or an HDR photo?): refused, with the fix.
        using var floats = full(1, 28, 28, 51f);
        var error = Assert.Throws<ArgumentException>(() => Images.Prepare(floats, model));
        Assert.Contains("divide by 255", error.Message);
        // A hair over 1, as someone else's resampling leaves it, is let through.
        using var nearlyOne = full(1, 28, 28, 1.0005f);
        Images.Prepare(nearlyOne, model).Dispose();
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
