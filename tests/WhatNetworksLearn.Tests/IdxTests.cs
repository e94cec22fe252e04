using System.Buffers.Binary;
using System.IO.Compression;
using TorchSharp;
using WhatNetworksLearn.Data;

namespace WhatNetworksLearn.Tests;

public class IdxTests : IDisposable
{
    /// <summary>Builds IDX files by hand, so the tests know every byte the reader should return.</summary>
    internal static class Files
    {
        public static byte[] Idx(int magic, int[] dims, byte[] payload)
        {
            var bytes = new byte[4 + 4 * dims.Length + payload.Length];
            BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
            for (int i = 0; i < dims.Length; i++)
                BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * i), dims[i]);
            payload.CopyTo(bytes, 4 + 4 * dims.Length);
            return bytes;
        }

        public static byte[] Gzip(byte[] content)
        {
            using var output = new MemoryStream();
            using (var gzip = new GZipStream(output, CompressionLevel.Optimal))
                gzip.Write(content);
            return output.ToArray();
        }

        public static string TemporaryFolder()
        {
            var folder = Path.Combine(Path.GetTempPath(), "wnl-tests-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(folder);
            return folder;
        }
    }

    // Two 2 x 3 images whose pixels are all different, including 0 and 255.
    static readonly byte[] Pixels = [0, 1, 2, 3, 4, 255, 10, 20, 30, 128, 200, 254];
    static readonly byte[] LabelBytes = [7, 3];

    readonly string folder = Files.TemporaryFolder();

    public void Dispose() => Directory.Delete(folder, recursive: true);

    string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(folder, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    static byte[] ImagesFile() => Files.Idx(Idx.ImagesMagic, [2, 2, 3], Pixels);
    static byte[] LabelsFile() => Files.Idx(Idx.LabelsMagic, [2], LabelBytes);

    static void AssertExpectedImages(torch.Tensor images)
    {
        Assert.Equal(torch.ScalarType.Float32, images.dtype);
        Assert.Equal([2L, 1, 2, 3], images.shape);
        var expected = Pixels.Select(b => b / 255f).ToArray();
        Assert.Equal(expected, images.data<float>().ToArray());
    }

    [Theory]
    [InlineData("raw-images", false)]
    [InlineData("gzipped-images.gz", true)]
    [InlineData("gzipped-without-extension", true)] // gzip is detected by content, not by name
    [InlineData("raw-named-like-gzip.gz", false)]
    public void Images_are_read_exactly_gzipped_or_not(string name, bool gzip)
    {
        var path = Write(name, gzip ? Files.Gzip(ImagesFile()) : ImagesFile());
        using var images = Idx.ReadImages(path);
        AssertExpectedImages(images);
        Assert.Equal(0f, images.min().item<float>());
        Assert.Equal(1f, images.max().item<float>());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Labels_are_read_as_int64(bool gzip)
    {
        var path = Write("labels", gzip ? Files.Gzip(LabelsFile()) : LabelsFile());
        using var labels = Idx.ReadLabels(path);
        Assert.Equal(torch.ScalarType.Int64, labels.dtype);
        Assert.Equal([2L], labels.shape);
        Assert.Equal([7L, 3L], labels.data<long>().ToArray());
    }

    [Fact]
    public void A_limit_reads_only_the_first_records()
    {
        var images = Write("images.gz", Files.Gzip(ImagesFile()));
        using (var first = Idx.ReadImages(images, limit: 1))
        {
            Assert.Equal([1L, 1, 2, 3], first.shape);
            Assert.Equal(Pixels.Take(6).Select(b => b / 255f).ToArray(), first.data<float>().ToArray());
        }
        using (var all = Idx.ReadImages(images, limit: 50))
            AssertExpectedImages(all);
        using (var none = Idx.ReadImages(images, limit: 0))
            Assert.Equal([0L, 1, 2, 3], none.shape);
        using var labels = Idx.ReadLabels(Write("labels", LabelsFile()), limit: 1);
        Assert.Equal([7L], labels.data<long>().ToArray());
    }

    [Fact]
    public void A_limit_does_not_need_the_rest_of_the_file()
    {
        // Only the records asked for have to be there: a file cut after the first image still gives that image.
        var cut = ImagesFile()[..(16 + 6)];
        using var first = Idx.ReadImages(Write("cut", cut), limit: 1);
        Assert.Equal([1L, 1, 2, 3], first.shape);
    }

    public static TheoryData<string, byte[]> BrokenFiles() => new()
    {
        { "labels given as images", Files.Idx(Idx.LabelsMagic, [2], LabelBytes) },
        { "not idx at all", "hello, world, this is text"u8.ToArray() },
        { "header too short", [0, 0, 8] },
        { "dimensions missing", Files.Idx(Idx.ImagesMagic, [2], []) },
        { "truncated pixels", ImagesFile()[..^1] },
        { "truncated pixels, gzipped", Files.Gzip(ImagesFile()[..^5]) },
        { "cut-off gzip stream", Files.Gzip(ImagesFile())[..^12] },
        { "float data", Files.Idx(0x00000D03, [2, 2, 3], new byte[48]) },
        { "signed bytes", Files.Idx(0x00000903, [2, 2, 3], Pixels) },
    };

    [Theory]
    [MemberData(nameof(BrokenFiles))]
    public void Broken_image_files_are_InvalidDataException_naming_the_file(string what, byte[] content)
    {
        var path = Write(what.Replace(' ', '-').Replace(",", ""), content);
        var error = Assert.Throws<InvalidDataException>(() => Idx.ReadImages(path).Dispose());
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void Error_messages_say_what_is_wrong()
    {
        var truncated = Write("truncated", ImagesFile()[..^1]);
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => Idx.ReadImages(truncated)).Message);
        var floats = Write("floats", Files.Idx(0x00000D03, [2, 2, 3], new byte[48]));
        Assert.Contains("unsigned bytes", Assert.Throws<InvalidDataException>(() => Idx.ReadImages(floats)).Message);
        var images = Write("images", ImagesFile());
        var wrong = Assert.Throws<InvalidDataException>(() => Idx.ReadLabels(images));
        Assert.Contains("0x00000803", wrong.Message);
        Assert.Contains("0x00000801", wrong.Message);
    }

    [Fact]
    public void A_truncated_label_file_is_InvalidDataException_naming_the_file()
    {
        var path = Write("labels.gz", Files.Gzip(Files.Idx(Idx.LabelsMagic, [3], LabelBytes)));
        var error = Assert.Throws<InvalidDataException>(() => Idx.ReadLabels(path));
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void A_missing_file_is_FileNotFoundException()
    {
        Assert.Throws<FileNotFoundException>(() => Idx.ReadImages(Path.Combine(folder, "absent")));
    }
}
