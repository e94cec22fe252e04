using System.Text;
using WhatNetworksLearn.Platform;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Data;

/// <summary>
/// Fashion-MNIST (Zalando Research, MIT licence): 28 x 28 greyscale photos of clothing in ten classes, the data set the
/// lecture's small networks are trained and probed on. The kit ships a 2,000-image sample; the full set is found on
/// disk or downloaded once.
/// </summary>
public static class FashionMnist
{
    /// <summary>The two halves of the data set: 60,000 training and 10,000 test images.</summary>
    public enum Split { Train, Test }

    /// <summary>Where files were found, in the order they are looked for.</summary>
    public enum Origin
    {
        /// <summary>The kit's own data/fashion-mnist/ folder (the shipped sample, or full files a user put there).</summary>
        KitFolder,
        /// <summary>The Debian/Ubuntu package dataset-fashion-mnist, /usr/share/datasets/fashion-mnist/.</summary>
        DebianPackage,
        /// <summary>The user's cache folder, where earlier downloads were kept.</summary>
        Cache,
        /// <summary>Downloaded just now from the data set's official location (then kept in the cache).</summary>
        Download,
    }

    /// <summary>The pair of files a set was read from, and where they came from, so a notebook can say what it used.</summary>
    public sealed record Location(Origin Origin, string ImagesPath, string LabelsPath)
    {
        public override string ToString() => $"{Origin}: {ImagesPath}, {LabelsPath}";
    }

    /// <summary>
    /// Images (float32 N x 1 x 28 x 28 in [0,1]) with their labels (int64 N, indices into <see cref="ClassNames"/>).
    /// Disposing it disposes both tensors, so <c>using var data = FashionMnist.LoadSample();</c> cleans up after itself
    /// (loaded data are aliases of the copy the process keeps; see <see cref="SharedLoads"/>).
    /// </summary>
    public sealed record LabeledImages(Tensor Images, Tensor Labels) : IDisposable
    {
        /// <summary>The files these were read from.</summary>
        public Location? Source { get; init; }

        /// <summary>The number of images.</summary>
        public long Count => Images.shape[0];

        public void Dispose()
        {
            Images.Dispose();
            Labels.Dispose();
        }
    }

    /// <summary>The class names, indexed by label, as the data set's authors name them.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>The official download location, from the data set's README.</summary>
    public static readonly Uri OfficialBaseUri = new("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/");

    /// <summary>The folder the Debian/Ubuntu package dataset-fashion-mnist installs to.</summary>
    public const string DebianFolder = "/usr/share/datasets/fashion-mnist";

    /// <summary>
    /// SHA-256 of each file's decompressed content (see data/fashion-mnist/SOURCES.md). Compressor-independent, so the
    /// upstream files and Debian's re-compressed ones both match.
    /// </summary>
    public static IReadOnlyDictionary<string, string> DecompressedSha256 { get; } = new Dictionary<string, string>
    {
        ["train-images-idx3-ubyte"] = "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        ["train-labels-idx1-ubyte"] = "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        ["t10k-images-idx3-ubyte"] = "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        ["t10k-labels-idx1-ubyte"] = "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        ["sample-2000-images-idx3-ubyte"] = "862035b0a96959b614c9574f4c2b0ae9584ca234813e8d6d7adb7838b12ca46b",
        ["sample-2000-labels-idx1-ubyte"] = "aa3f574d30afaf0d4d9da084a6f8541771e20693d6a97fae6e9a4953fca8f078",
    };

    /// <summary>The upstream base names (without .gz) of a split's image and label files.</summary>
    public static (string Images, string Labels) FileNames(Split split) => split switch
    {
        Split.Train => ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
        Split.Test => ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
        _ => throw new ArgumentOutOfRangeException(nameof(split), split, null),
    };

    /// <summary>
    /// The garment's own mask: 1 where a pixel is brighter than <paramref name="threshold"/>, 0 elsewhere (the background
    /// of Fashion-MNIST is black). Any shape (N x 1 x H x W, 1 x H x W, H x W); the answer has the same shape, as floats.
    /// Notebooks 07 and 08 measure saliency maps and segmentations against it.
    /// </summary>
    public static Tensor GarmentMask(Tensor images, float threshold = 0.1f)
    {
        if (threshold is < 0 or >= 1)
            throw new ArgumentOutOfRangeException(nameof(threshold), $"The threshold is a pixel value and must lie in [0, 1); got {threshold}.");
        return images.detach().gt(threshold).to_type(ScalarType.Float32);
    }

    /// <summary>
    /// The 2,000-image sample shipped with the kit (the first 2,000 test images, all ten classes): enough for every
    /// exercise that only probes a network, with no download.
    /// </summary>
    public static LabeledImages LoadSample(int? limit = null)
    {
        var images = Kit.DataPath("fashion-mnist", "sample-2000-images-idx3-ubyte.gz");
        var labels = Kit.DataPath("fashion-mnist", "sample-2000-labels-idx1-ubyte.gz");
        return Read(new Location(Origin.KitFolder, images, labels), limit);
    }

    /// <summary>
    /// The full training (60,000) or test (10,000) set, or its first <paramref name="limit"/> images. Looks in the kit's
    /// data/fashion-mnist/ folder, then the Debian package's folder, then the cache, and only then downloads the files
    /// into the cache (verified by checksum). <see cref="LabeledImages.Source"/> says which was used.
    /// Throws <see cref="FileNotFoundException"/>, listing every place looked in and how to provide the files, when none
    /// has them and downloading is off or fails.
    /// </summary>
    public static LabeledImages Load(Split split, int? limit = null, bool allowDownload = true) =>
        Load(split, limit, allowDownload, Sources.Default());

    /// <summary>Where the split's files are on disk now (the first place that has both), or null; never downloads.</summary>
    public static Location? Locate(Split split) => Locate(split, Sources.Default());

    /// <summary>The places searched and the download location; tests replace them so they touch neither the network nor /usr.</summary>
    internal sealed record Sources(IReadOnlyList<(Origin Origin, string Folder)> Folders, string DownloadFolder, Uri BaseUri,
                                   IReadOnlyDictionary<string, string> Checksums)
    {
        internal static Sources Default()
        {
            var folders = new List<(Origin, string)>();
            if (KitDataFolder() is string kit)
                folders.Add((Origin.KitFolder, kit));
            folders.Add((Origin.DebianPackage, DebianFolder));
            var cache = Path.Combine(Downloads.CacheFolder, "fashion-mnist");
            folders.Add((Origin.Cache, cache));
            return new Sources(folders, cache, OfficialBaseUri, DecompressedSha256);
        }

        static string? KitDataFolder()
        {
            try
            {
                return Kit.DataPath("fashion-mnist");
            }
            catch (DirectoryNotFoundException)
            {
                return null; // the library runs outside the kit's folder: there is no kit data folder to look in
            }
        }
    }

    internal static Location? Locate(Split split, Sources sources)
    {
        var (images, labels) = FileNames(split);
        foreach (var (origin, folder) in sources.Folders)
            if (Find(folder, images) is string imagesPath && Find(folder, labels) is string labelsPath)
                return new Location(origin, imagesPath, labelsPath);
        return null;
    }

    internal static LabeledImages Load(Split split, int? limit, bool allowDownload, Sources sources)
    {
        if (Locate(split, sources) is Location found)
            return Read(found, limit);

        Exception? downloadError = null;
        if (allowDownload)
        {
            try
            {
                return Read(Download(split, sources), limit);
            }
            catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
            {
                downloadError = e;
            }
        }
        throw NotFound(split, sources, allowDownload, downloadError);
    }

    static Location Download(Split split, Sources sources)
    {
        var (images, labels) = FileNames(split);
        string Get(string name) => Downloads.Fetch(new Uri(sources.BaseUri, name + ".gz"),
                                                   Path.Combine(sources.DownloadFolder, name + ".gz"),
                                                   sources.Checksums[name], hashDecompressed: true);
        return new Location(Origin.Download, Get(images), Get(labels));
    }

    /// <summary>
    /// The images and labels of a pair of files. Reading the same files again returns the tensors already in memory
    /// (<see cref="SharedLoads"/>), so a rerun notebook cell costs no memory for its data: change a clone, not them.
    /// </summary>
    static LabeledImages Read(Location location, int? limit)
    {
        var images = SharedLoads.Tensor($"fashion-mnist {SharedLoads.FileKey(location.ImagesPath)} {limit}", () => Idx.ReadImages(location.ImagesPath, limit));
        try
        {
            var labels = SharedLoads.Tensor($"fashion-mnist {SharedLoads.FileKey(location.LabelsPath)} {limit}", () => Idx.ReadLabels(location.LabelsPath, limit));
            if (labels.shape[0] != images.shape[0])
            {
                labels.Dispose();
                throw new InvalidDataException($"{location.ImagesPath} holds {images.shape[0]} images but {location.LabelsPath} " +
                                               $"{labels.shape[0]} labels: the two files do not belong together.");
            }
            return new LabeledImages(images, labels) { Source = location };
        }
        catch
        {
            images.Dispose();
            throw;
        }
    }

    /// <summary>The file in the folder under its upstream name, gzipped (.gz) or not; null when neither is there.</summary>
    static string? Find(string folder, string name)
    {
        foreach (var candidate in new[] { name + ".gz", name })
        {
            var path = Path.Combine(folder, candidate);
            if (File.Exists(path))
                return Path.GetFullPath(path);
        }
        return null;
    }

    static FileNotFoundException NotFound(Split split, Sources sources, bool allowDownload, Exception? downloadError)
    {
        var (images, labels) = FileNames(split);
        var kitFolder = sources.Folders.FirstOrDefault(f => f.Origin == Origin.KitFolder).Folder ?? "data/fashion-mnist/ in the kit's folder";
        var message = new StringBuilder();
        message.AppendLine($"The Fashion-MNIST {split.ToString().ToLowerInvariant()} set ({images}, {labels}, each gzipped as .gz or not) was not found. Looked in:");
        foreach (var (origin, folder) in sources.Folders)
            message.AppendLine($"  - {folder} ({Describe(origin)})");
        var urls = $"{new Uri(sources.BaseUri, images + ".gz")} and {new Uri(sources.BaseUri, labels + ".gz")}";
        if (!allowDownload)
            message.AppendLine($"  - downloading was switched off (allowDownload: false); it would fetch {urls} into {sources.DownloadFolder}");
        else
            message.AppendLine($"  - download of {urls} into {sources.DownloadFolder} failed: {downloadError?.Message}");
        message.AppendLine("To provide the files, either:");
        message.AppendLine($"  - put {images}.gz and {labels}.gz (from {sources.BaseUri}) into {kitFolder}, or");
        message.Append("  - install the Debian/Ubuntu package: sudo apt-get install dataset-fashion-mnist");
        return new FileNotFoundException(message.ToString(), Path.Combine(kitFolder, images + ".gz"), downloadError);
    }

    static string Describe(Origin origin) => origin switch
    {
        Origin.KitFolder => "the kit's data folder",
        Origin.DebianPackage => "the Debian package dataset-fashion-mnist",
        Origin.Cache => "the download cache",
        _ => origin.ToString(),
    };
}
