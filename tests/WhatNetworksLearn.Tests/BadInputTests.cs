using System.IO.Compression;
using System.Text;
using WhatNetworksLearn.Adversarial;
using WhatNetworksLearn.Attribution;
using WhatNetworksLearn.Data;
using WhatNetworksLearn.Features;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Synthesis;
using Catalogue;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

/// <summary>
/// What students will feed the kit by mistake, swept across every technique: each case gets a clear error that says
/// what was wrong, or a defined behaviour, never a native crash or a silent wrong answer. Cases tested beside their
/// code: damaged and truncated image files and the resize policy (ImagesTests), class out of range, unknown layer and
/// model names, missing, truncated or wrong-architecture weights and checksum mismatches (ModelTests, DownloadTests),
/// an occlusion patch larger than the image (OcclusionTests), attack budgets (AttackTests).
/// </summary>
public sealed class BadInputTests : IDisposable
{
    readonly VisionModel model = FashionCnn.Load(CPU);
    readonly List<string> files = [];

    public static TheoryData<string> TechniquesOnImages() => new(Techniques.All.Where(t => t.OnImages is not null).Select(t => t.Name));

    public static TheoryData<string> TechniquesWithOptions() => new(Techniques.All.Where(t => t.BadOptions.Count > 0).Select(t => t.Name));

    static Technique Named(string name) => Techniques.All.Single(t => t.Name == name);

    [Theory]
    [MemberData(nameof(TechniquesOnImages))]
    public void Not_a_number_or_infinity_in_the_image_is_refused(string technique)
    {
        foreach (var bad in new[] { float.NaN, float.PositiveInfinity })
        {
            using var image = full(1, 1, 28, 28, 0.5f);
            image[0, 0, 3, 4] = tensor(bad);
            var error = Assert.ThrowsAny<ArgumentException>(() => Named(technique).OnImages!(model, image));
            Assert.Contains("NaN or infinite", error.Message);
        }
    }

    [Theory]
    [MemberData(nameof(TechniquesOnImages))]
    public void An_empty_image_set_is_refused(string technique)
    {
        using var none = zeros(0, 1, 28, 28);
        var error = Assert.ThrowsAny<ArgumentException>(() => Named(technique).OnImages!(model, none));
        Assert.Matches("empty|0 images|one image", error.Message);
    }

    [Theory]
    [MemberData(nameof(TechniquesOnImages))]
    public void A_colour_image_for_a_greyscale_model_is_refused_with_the_fix(string technique)
    {
        using var colour = full(1, 3, 28, 28, 0.5f);
        var error = Assert.ThrowsAny<ArgumentException>(() => Named(technique).OnImages!(model, colour));
        Assert.Contains("Images.Prepare", error.Message);
    }

    [Theory]
    [MemberData(nameof(TechniquesOnImages))]
    public void Pixels_in_bytes_0_to_255_are_refused_with_the_fix(string technique)
    {
        // The most common mistake: an image from another library, not yet divided by 255. Networks answer such
        // input with confidence and every map looks like a map, so every technique must refuse it.
        using var bytes = (rand(1, 1, 28, 28, generator: new Generator(3)) * 255).round();
        var error = Assert.ThrowsAny<ArgumentException>(() => Named(technique).OnImages!(model, bytes));
        Assert.Contains("[0,1]", error.Message);
        Assert.Contains("divide by 255", error.Message);
        // Just outside the range (rescaled with a small error, or made negative): refused with a rescaling hint.
        using var negative = full(1, 1, 28, 28, 0.5f);
        negative[0, 0, 0, 0] = tensor(-0.2f);
        Assert.Contains("clamp", Assert.ThrowsAny<ArgumentException>(() => Named(technique).OnImages!(model, negative)).Message);
    }

    [Theory]
    [MemberData(nameof(TechniquesOnImages))]
    public void Float64_pixels_work_as_float32_ones_do(string technique)
    {
        // Images made with numpy are often float64; the network's weights are float32.
        using var image = rand(1, 1, 28, 28, ScalarType.Float64, generator: new Generator(7));
        Named(technique).OnImages!(model, image);
    }

    [Theory]
    [MemberData(nameof(TechniquesWithOptions))]
    public void Negative_steps_sizes_and_counts_are_refused_before_any_work(string technique)
    {
        using var image = full(1, 1, 28, 28, 0.5f);
        foreach (var (run, index) in Named(technique).BadOptions.Select((run, index) => (run, index)))
        {
            var error = Record.Exception(() => run(model, image));
            Assert.True(error is ArgumentOutOfRangeException, $"Bad option {index} gave {error?.GetType().Name ?? "no error"}: {error?.Message}");
        }
    }

    [Fact]
    public void Labels_stored_as_floats_are_read_as_classes_and_fractions_are_refused()
    {
        using var images = FashionMnist.LoadSample(4).Images;
        using var labels = tensor(new long[] { 0, 1, 2, 3 });
        using var asFloats = labels.to_type(ScalarType.Float32);
        using var exact = new Fgsm(model).Run(images, labels);
        using var fromFloats = new Fgsm(model).Run(images, asFloats);
        Assert.True(SynthesisTests.Identical(exact.Adversarial, fromFloats.Adversarial));
        using var fractions = tensor(new[] { 0f, 1.5f, 2f, 3f });
        var error = Assert.Throws<ArgumentException>(() => new Fgsm(model).Run(images, fractions));
        Assert.Contains("whole numbers", error.Message);
    }

    [Fact]
    public void A_sixteen_bit_png_reads_as_its_values_to_eight_bits()
    {
        // 2 x 2 grey, 16 bits: 0, 1/2, 1, 1/4 of full scale.
        ushort[] values = [0, 0x8000, 0xFFFF, 0x4000];
        var rows = new[] { values[..2], values[2..] }
            .Select(row => row.SelectMany(v => new[] { (byte)(v >> 8), (byte)v }).ToArray()).ToArray();
        var path = WritePng(width: 2, height: 2, bitDepth: 16, colourType: 0, rows);

        using var image = ImageFiles.Load(path);

        Assert.Equal(new long[] { 3, 2, 2 }, image.shape);
        var expected = tensor(values.Select(v => v / 65535f).ToArray()).reshape(2, 2);
        Assert.True((image[0] - expected).abs().max().item<float>() <= 1 / 255f, "16-bit values must survive to within one 8-bit step.");
        Assert.True(image[0].eq(image[2]).all().item<bool>(), "A greyscale file gives three equal channels.");
    }

    [Fact]
    public void A_palette_png_reads_as_the_colours_of_its_palette()
    {
        // Palette: red, green, blue, white; pixels use indices 2 0 / 3 1.
        byte[] palette = [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255];
        var path = WritePng(width: 2, height: 2, bitDepth: 8, colourType: 3, [[2, 0], [3, 1]], palette);

        using var image = ImageFiles.Load(path);

        float[] expected = [0, 1, 1, 0, /* green */ 0, 0, 1, 1, /* blue */ 1, 0, 1, 0];
        Assert.Equal(expected, image.data<float>().ToArray());
    }

    [Fact]
    public void A_greyscale_photo_fits_a_colour_model_and_a_colour_photo_a_greyscale_one()
    {
        using var colourModel = TorchVisionModels.CreateUntrained("resnet18", CPU);
        using var grey = ImageFiles.LoadGrey(Kit.DataPath("images", "camera.png"));
        using var forColour = Images.Prepare(grey, colourModel);
        Assert.Equal(new long[] { 1, 3, 224, 224 }, forColour.shape);
        Assert.True(forColour[0, 0].eq(forColour[0, 1]).all().item<bool>() && forColour[0, 1].eq(forColour[0, 2]).all().item<bool>(), "Grey becomes three equal channels.");

        using var cat = ImageFiles.Load(Kit.DataPath("images", "chelsea.png"));
        using var forGrey = Images.Prepare(cat, model);
        Assert.Equal(new long[] { 1, 1, 28, 28 }, forGrey.shape);
        using var scores = model.Forward(forGrey);
        Assert.True(scores.isfinite().all().item<bool>());
    }

    [Fact]
    public void Images_with_an_alpha_channel_or_two_channels_are_refused_with_the_channel_counts()
    {
        using var rgba = full(4, 32, 32, 0.5f);
        var error = Assert.Throws<ArgumentException>(() => Images.Prepare(rgba, model));
        Assert.Contains("4 channels", error.Message);
    }

    /// <summary>A minimal PNG file (no interlace, filter 0 on every row) written byte by byte.</summary>
    string WritePng(int width, int height, byte bitDepth, byte colourType, byte[][] rows, byte[]? palette = null)
    {
        using var file = new MemoryStream();
        file.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BigEndian(header, 0, width);
        BigEndian(header, 4, height);
        header[8] = bitDepth;
        header[9] = colourType;
        WriteChunk(file, "IHDR", header);
        if (palette is not null)
            WriteChunk(file, "PLTE", palette);
        using var packed = new MemoryStream();
        using (var zlib = new ZLibStream(packed, CompressionLevel.Optimal, leaveOpen: true))
            foreach (var row in rows)
            {
                zlib.WriteByte(0);
                zlib.Write(row);
            }
        WriteChunk(file, "IDAT", packed.ToArray());
        WriteChunk(file, "IEND", []);
        var path = Path.Combine(Path.GetTempPath(), $"bad-input-{Guid.NewGuid():N}.png");
        File.WriteAllBytes(path, file.ToArray());
        files.Add(path);
        return path;
    }

    static void WriteChunk(Stream file, string type, byte[] data)
    {
        var length = new byte[4];
        BigEndian(length, 0, data.Length);
        file.Write(length);
        var typeAndData = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        file.Write(typeAndData);
        var crc = new byte[4];
        BigEndian(crc, 0, (int)Crc32(typeAndData));
        file.Write(crc);
    }

    static void BigEndian(byte[] buffer, int offset, int value)
    {
        for (int i = 0; i < 4; i++)
            buffer[offset + i] = (byte)(value >> (24 - 8 * i));
    }

    /// <summary>The CRC-32 of PNG chunks (ISO-HDLC polynomial, reflected).</summary>
    static uint Crc32(byte[] bytes)
    {
        uint crc = 0xFFFFFFFF;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
                crc = (crc & 1) != 0 ? 0xEDB88320 ^ (crc >> 1) : crc >> 1;
        }
        return ~crc;
    }

    public void Dispose()
    {
        model.Dispose();
        foreach (var file in files)
            File.Delete(file);
    }
}
