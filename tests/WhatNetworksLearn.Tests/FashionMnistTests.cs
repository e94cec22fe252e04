using System.Text.RegularExpressions;
using TorchSharp;
using WhatNetworksLearn.Data;
using static WhatNetworksLearn.Data.FashionMnist;

namespace WhatNetworksLearn.Tests;

public class FashionMnistTests : IDisposable
{
    static readonly string SampleImages = Kit.DataPath("fashion-mnist", "sample-2000-images-idx3-ubyte.gz");
    static readonly string SampleLabels = Kit.DataPath("fashion-mnist", "sample-2000-labels-idx1-ubyte.gz");

    readonly string root = IdxTests.Files.TemporaryFolder();
    readonly DownloadTests.Server server = new();

    public void Dispose()
    {
        server.Dispose();
        Directory.Delete(root, recursive: true);
    }

    // ---- The shipped sample ----

    [Fact]
    public void ClassNames_are_the_ten_classes_in_label_order()
    {
        Assert.Equal(["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"], ClassNames);
    }

    [Fact]
    public void The_sample_has_2000_images_in_0_1_with_the_class_counts_of_its_README()
    {
        using var sample = LoadSample();

        Assert.Equal([2000L, 1, 28, 28], sample.Images.shape);
        Assert.Equal(torch.ScalarType.Float32, sample.Images.dtype);
        Assert.True(sample.Images.min().item<float>() >= 0f);
        Assert.Equal(1f, sample.Images.max().item<float>()); // byte 255 exists and maps to exactly 1
        Assert.Equal([2000L], sample.Labels.shape);
        Assert.Equal(torch.ScalarType.Int64, sample.Labels.dtype);
        Assert.Equal(2000, sample.Count);

        using var counts = torch.bincount(sample.Labels, minlength: 10);
        Assert.Equal([200L, 203, 214, 190, 219, 195, 197, 200, 194, 188], counts.data<long>().ToArray());
        Assert.Equal([9L, 2, 1, 1, 6, 1, 4, 6, 5, 7], sample.Labels.narrow(0, 0, 10).data<long>().ToArray());

        Assert.Equal(Origin.KitFolder, sample.Source!.Origin);
        Assert.Equal(SampleImages, sample.Source.ImagesPath);
    }

    [Fact]
    public void The_garment_mask_is_the_pixels_above_the_threshold()
    {
        using var images = torch.tensor(new[] { 0f, 0.1f, 0.11f, 1f }).reshape(1, 1, 2, 2);
        using var mask = FashionMnist.GarmentMask(images);
        Assert.Equal(new long[] { 1, 1, 2, 2 }, mask.shape);
        Assert.Equal(new[] { 0f, 0f, 1f, 1f }, mask.flatten().data<float>().ToArray());
        using var strict = FashionMnist.GarmentMask(images, threshold: 0.5f);
        Assert.Equal(new[] { 0f, 0f, 0f, 1f }, strict.flatten().data<float>().ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => FashionMnist.GarmentMask(images, threshold: 1));
    }

    [Fact]
    public void The_sample_pixels_are_the_file_bytes_over_255()
    {
        var (_, bytes) = Idx.ReadBytes(SampleImages, Idx.ImagesMagic, limit: 3);
        using var sample = LoadSample(limit: 3);
        Assert.Equal([3L, 1, 28, 28], sample.Images.shape);
        Assert.Equal([3L], sample.Labels.shape);
        Assert.Equal(bytes.Select(b => b / 255f).ToArray(), sample.Images.data<float>().ToArray());
    }

    [Fact]
    public void The_sample_files_have_the_decompressed_checksums_of_the_README()
    {
        var readme = File.ReadAllText(Kit.DataPath("fashion-mnist", "README.md"));
        const string images = "862035b0a96959b614c9574f4c2b0ae9584ca234813e8d6d7adb7838b12ca46b";
        const string labels = "aa3f574d30afaf0d4d9da084a6f8541771e20693d6a97fae6e9a4953fca8f078";
        Assert.Contains(images, readme);
        Assert.Contains(labels, readme);
        Assert.Equal(images, Downloads.Sha256OfDecompressed(SampleImages));
        Assert.Equal(labels, Downloads.Sha256OfDecompressed(SampleLabels));
        Assert.Equal(images, DecompressedSha256["sample-2000-images-idx3-ubyte"]);
        Assert.Equal(labels, DecompressedSha256["sample-2000-labels-idx1-ubyte"]);
    }

    [Fact]
    public void The_checksum_constants_are_those_of_SOURCES_md()
    {
        var sources = File.ReadAllText(Kit.DataPath("fashion-mnist", "SOURCES.md"));
        foreach (var split in new[] { Split.Train, Split.Test })
        foreach (var name in new[] { FileNames(split).Images, FileNames(split).Labels })
        {
            // The row of the decompressed-data table: | `name` | bytes | `sha256` | `md5` |
            var row = Regex.Match(sources, $@"^\| `{Regex.Escape(name)}` \| [\d,]+ \| `([0-9a-f]{{64}})` \|", RegexOptions.Multiline);
            Assert.True(row.Success, $"no decompressed checksum for {name} in SOURCES.md");
            Assert.Equal(row.Groups[1].Value, DecompressedSha256[name]);
        }
    }

    [Fact]
    public void Debian_package_files_when_installed_match_the_checksums_and_the_sample()
    {
        // Asserts only on machines with `apt-get install dataset-fashion-mnist`; CI machines without it pass trivially.
        if (!File.Exists(Path.Combine(DebianFolder, "t10k-images-idx3-ubyte.gz")))
            return;
        foreach (var split in new[] { Split.Train, Split.Test })
        foreach (var name in new[] { FileNames(split).Images, FileNames(split).Labels })
            Assert.Equal(DecompressedSha256[name], Downloads.Sha256OfDecompressed(Path.Combine(DebianFolder, name + ".gz")));

        var debianOnly = new Sources([(Origin.DebianPackage, DebianFolder)], Path.Combine(root, "cache"), server.BaseUri, DecompressedSha256);
        using var test = Load(Split.Test, limit: null, allowDownload: false, debianOnly);
        Assert.Equal([10000L, 1, 28, 28], test.Images.shape);
        Assert.Equal(Origin.DebianPackage, test.Source!.Origin);
        using var sample = LoadSample();
        Assert.True(test.Images.narrow(0, 0, 2000).equal(sample.Images).all().item<bool>(), "the sample is the first 2000 test images");
        Assert.True(test.Labels.narrow(0, 0, 2000).equal(sample.Labels).all().item<bool>(), "the sample has the first 2000 test labels");

        using var train = Load(Split.Train, limit: 100, allowDownload: false, debianOnly);
        Assert.Equal([100L, 1, 28, 28], train.Images.shape);
        Assert.Equal(0, server.Requests);
    }

    // ---- Finding the full set: kit folder, Debian folder, cache, download ----

    const int Records = 3;

    /// <summary>A tiny stand-in for a split: every label is <paramref name="marker"/>, so a test can tell which copy was read.</summary>
    static (byte[] Images, byte[] Labels) TinySet(byte marker) =>
        (IdxTests.Files.Idx(Idx.ImagesMagic, [Records, 2, 2], Enumerable.Repeat(marker, Records * 4).ToArray()),
         IdxTests.Files.Idx(Idx.LabelsMagic, [Records], Enumerable.Repeat(marker, Records).ToArray()));

    string Folder(string name) => Path.Combine(root, name);

    void Put(string folderName, Split split, byte marker, bool gzip = true)
    {
        var folder = Folder(folderName);
        Directory.CreateDirectory(folder);
        var (images, labels) = TinySet(marker);
        var names = FileNames(split);
        var suffix = gzip ? ".gz" : "";
        File.WriteAllBytes(Path.Combine(folder, names.Images + suffix), gzip ? IdxTests.Files.Gzip(images) : images);
        File.WriteAllBytes(Path.Combine(folder, names.Labels + suffix), gzip ? IdxTests.Files.Gzip(labels) : labels);
    }

    /// <summary>Serves the tiny set as the official files, and gives the checksums of their decompressed content.</summary>
    Dictionary<string, string> ServeTinySet(Split split, byte marker)
    {
        var (images, labels) = TinySet(marker);
        var names = FileNames(split);
        server.Serve(names.Images + ".gz", IdxTests.Files.Gzip(images));
        server.Serve(names.Labels + ".gz", IdxTests.Files.Gzip(labels));
        return new()
        {
            [names.Images] = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(images)),
            [names.Labels] = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(labels)),
        };
    }

    Sources TestSources(IReadOnlyDictionary<string, string>? checksums = null, Uri? baseUri = null) => new(
        [(Origin.KitFolder, Folder("kit")), (Origin.DebianPackage, Folder("debian")), (Origin.Cache, Folder("cache"))],
        Folder("cache"), baseUri ?? server.BaseUri, checksums ?? DecompressedSha256);

    static long Marker(LabeledImages set) => set.Labels[0].item<long>();

    [Theory]
    [InlineData(Split.Train)]
    [InlineData(Split.Test)]
    public void Sources_are_tried_kit_folder_then_Debian_then_cache_then_download(Split split)
    {
        var sources = TestSources(ServeTinySet(split, marker: 4));
        Put("kit", split, marker: 1);
        Put("debian", split, marker: 2);
        Put("cache", split, marker: 3);

        using (var set = Load(split, null, true, sources))
        {
            Assert.Equal((Origin.KitFolder, 1L), (set.Source!.Origin, Marker(set)));
            Assert.Equal([(long)Records, 1, 2, 2], set.Images.shape);
            Assert.Equal(Path.Combine(Folder("kit"), FileNames(split).Images + ".gz"), set.Source.ImagesPath);
        }
        Directory.Delete(Folder("kit"), recursive: true);
        using (var set = Load(split, null, true, sources))
            Assert.Equal((Origin.DebianPackage, 2L), (set.Source!.Origin, Marker(set)));
        Directory.Delete(Folder("debian"), recursive: true);
        using (var set = Load(split, null, true, sources))
            Assert.Equal((Origin.Cache, 3L), (set.Source!.Origin, Marker(set)));
        Assert.Equal(0, server.Requests);

        Directory.Delete(Folder("cache"), recursive: true);
        using (var set = Load(split, null, true, sources))
        {
            Assert.Equal((Origin.Download, 4L), (set.Source!.Origin, Marker(set)));
            Assert.Equal(Path.Combine(Folder("cache"), FileNames(split).Labels + ".gz"), set.Source.LabelsPath);
        }
        Assert.Equal(2, server.Requests);

        // Downloaded once: the next load finds the files in the cache.
        using (var set = Load(split, null, true, sources))
            Assert.Equal((Origin.Cache, 4L), (set.Source!.Origin, Marker(set)));
        Assert.Equal(2, server.Requests);
    }

    [Fact]
    public void The_default_places_are_the_kit_folder_Debian_and_the_cache_and_downloads_go_to_the_cache()
    {
        var before = Environment.GetEnvironmentVariable("KIT_CACHE");
        try
        {
            Environment.SetEnvironmentVariable("KIT_CACHE", Folder("user-cache"));
            var defaults = Sources.Default();
            var cache = Path.Combine(Folder("user-cache"), "fashion-mnist");
            Assert.Equal([(Origin.KitFolder, Kit.DataPath("fashion-mnist")), (Origin.DebianPackage, "/usr/share/datasets/fashion-mnist"), (Origin.Cache, cache)],
                         defaults.Folders);
            Assert.Equal(cache, defaults.DownloadFolder);
            Assert.Equal("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/t10k-images-idx3-ubyte.gz",
                         new Uri(defaults.BaseUri, "t10k-images-idx3-ubyte.gz").ToString());
            Assert.Same(DecompressedSha256, defaults.Checksums);
        }
        finally
        {
            Environment.SetEnvironmentVariable("KIT_CACHE", before);
        }
    }

    [Fact]
    public void Locate_reports_the_first_folder_holding_both_files_and_never_downloads()
    {
        var sources = TestSources(ServeTinySet(Split.Test, marker: 4));
        Assert.Null(Locate(Split.Test, sources));

        Put("cache", Split.Test, marker: 3);
        Put("kit", Split.Test, marker: 1);
        File.Delete(Path.Combine(Folder("kit"), FileNames(Split.Test).Labels + ".gz")); // half a pair does not count
        var found = Locate(Split.Test, sources);

        Assert.Equal(Origin.Cache, found!.Origin);
        Assert.Equal(Path.Combine(Folder("cache"), FileNames(Split.Test).Images + ".gz"), found.ImagesPath);
        Assert.Null(Locate(Split.Train, sources));
        Assert.Equal(0, server.Requests);
    }

    [Fact]
    public void Files_without_gz_are_found_too()
    {
        Put("debian", Split.Train, marker: 2, gzip: false);
        using var set = Load(Split.Train, limit: 2, allowDownload: false, TestSources());
        Assert.Equal(Origin.DebianPackage, set.Source!.Origin);
        Assert.Equal(Path.Combine(Folder("debian"), FileNames(Split.Train).Images), set.Source.ImagesPath);
        Assert.Equal([2L, 1, 2, 2], set.Images.shape);
        Assert.Equal([2L, 2L], set.Labels.data<long>().ToArray());
    }

    [Fact]
    public void Without_files_and_with_downloads_off_the_error_lists_every_place_and_what_to_do()
    {
        var error = Assert.Throws<FileNotFoundException>(() => Load(Split.Train, null, allowDownload: false, TestSources()));

        foreach (var place in new[] { "kit", "debian", "cache" })
            Assert.Contains(Folder(place), error.Message);
        Assert.Contains("train-images-idx3-ubyte.gz", error.Message);
        Assert.Contains("train-labels-idx1-ubyte.gz", error.Message);
        Assert.Contains("apt-get install dataset-fashion-mnist", error.Message);
        Assert.Contains("allowDownload", error.Message);
        Assert.Equal(0, server.Requests);
    }

    [Fact]
    public void Offline_with_nothing_on_disk_the_error_lists_every_place_and_the_url()
    {
        var offline = DownloadTests.Server.Unreachable("");
        var error = Assert.Throws<FileNotFoundException>(() => Load(Split.Test, null, true, TestSources(baseUri: offline)));

        foreach (var place in new[] { "kit", "debian", "cache" })
            Assert.Contains(Folder(place), error.Message);
        Assert.Contains(new Uri(offline, "t10k-images-idx3-ubyte.gz").ToString(), error.Message);
        Assert.Contains("t10k-labels-idx1-ubyte.gz", error.Message);
        Assert.Contains("apt-get install dataset-fashion-mnist", error.Message);
        Assert.IsType<IOException>(error.InnerException);
        Assert.False(Directory.Exists(Folder("cache")) && Directory.EnumerateFiles(Folder("cache")).Any());
    }

    [Fact]
    public void A_download_with_the_wrong_content_is_refused_and_not_kept()
    {
        ServeTinySet(Split.Test, marker: 4);
        // The real checksums: the tiny stand-ins served here cannot match them.
        var error = Assert.Throws<FileNotFoundException>(() => Load(Split.Test, null, true, TestSources(DecompressedSha256)));

        var mismatch = Assert.IsType<InvalidDataException>(error.InnerException);
        Assert.Contains(DecompressedSha256["t10k-images-idx3-ubyte"], mismatch.Message);
        Assert.Contains(DecompressedSha256["t10k-images-idx3-ubyte"], error.Message);
        Assert.Empty(Directory.EnumerateFiles(Folder("cache"), "*", SearchOption.AllDirectories));
    }
}
