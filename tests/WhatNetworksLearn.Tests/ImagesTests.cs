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
        Assert.True(photos.Count >= 15, $"Only {photos.Count} photos.");
        Assert.Equal(photos.Select(p => p.Name).Order(StringComparer.Ordinal), photos.Select(p => p.Name));
        foreach (var (name, image) in photos)
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
}
