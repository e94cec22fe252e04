using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using WhatNetworksLearn.Rendering;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Features;

/// <summary>A square region of an image, in pixels.</summary>
public readonly record struct Region(int Left, int Top, int Width, int Height)
{
    public int Area => Width * Height;

    /// <summary>Intersection over union: the overlap of two regions as a fraction of the area they cover together.</summary>
    public double IoU(Region other)
    {
        int overlapWidth = Math.Min(Left + Width, other.Left + other.Width) - Math.Max(Left, other.Left);
        int overlapHeight = Math.Min(Top + Height, other.Top + other.Height) - Math.Max(Top, other.Top);
        if (overlapWidth <= 0 || overlapHeight <= 0)
            return 0;
        double overlap = overlapWidth * overlapHeight;
        return overlap / (Area + other.Area - overlap);
    }
}

/// <summary>
/// One of the regions that excite a unit most: which image, where in it (<see cref="Region"/>, in the image's own
/// pixels), and how strongly; and where the unit saw it: the candidate view (<see cref="View"/>, an index into
/// <see cref="CandidateViews.Views"/>), the region in that view's pixels (<see cref="InView"/>) and the unit's row and
/// column (<see cref="Y"/>, <see cref="X"/>) in the view's feature map. When whole images are scanned, the view is the image.
/// </summary>
public sealed record Patch(int Image, Region Region, float Activation, int Y, int X, int View, Region InView);

/// <summary>
/// One candidate view of an image: the image scaled by <see cref="ScaleX"/> and <see cref="ScaleY"/> (scaled pixels per
/// original pixel) so that its shorter side is <see cref="ShorterSide"/> pixels, then cut to <see cref="Crop"/>, a
/// region of the scaled image.
/// </summary>
public sealed record View(int Image, Region Crop, double ScaleX, double ScaleY, int ShorterSide)
{
    /// <summary>
    /// A region of this view (in the view's pixels) as the region of the original image it shows: shifted by the crop,
    /// scaled back, rounded outwards to whole pixels and clipped to the image.
    /// </summary>
    public Region ToImage(Region inView, int imageWidth, int imageHeight)
    {
        int left = Math.Max(0, (int)Math.Floor((Crop.Left + inView.Left) / ScaleX + 1e-9));
        int top = Math.Max(0, (int)Math.Floor((Crop.Top + inView.Top) / ScaleY + 1e-9));
        int right = Math.Min(imageWidth, (int)Math.Ceiling((Crop.Left + inView.Left + inView.Width) / ScaleX - 1e-9));
        int bottom = Math.Min(imageHeight, (int)Math.Ceiling((Crop.Top + inView.Top + inView.Height) / ScaleY - 1e-9));
        return new Region(left, top, right - left, bottom - top);
    }
}

/// <summary>
/// The views <see cref="TopPatches"/> scans a unit over, all of one size so that they run through the network in
/// batches: <see cref="Pixels"/> (V x C x H x W) and, for each, which image it comes from and where
/// (<see cref="Views"/>). Either each image whole (<see cref="Whole"/>), or photos of any size at several scales, each
/// cut into overlapping squares (<see cref="Of"/>), so that a unit's candidates are regions of many sizes and places,
/// as the region proposals of Girshick et al.'s R-CNN are.
/// </summary>
public sealed class CandidateViews : IDisposable
{
    readonly bool ownsPixels;

    CandidateViews(Tensor pixels, IReadOnlyList<View> views, IReadOnlyList<(int Width, int Height)> imageSizes, bool ownsPixels)
    {
        Pixels = pixels;
        Views = views;
        ImageSizes = imageSizes;
        this.ownsPixels = ownsPixels;
    }

    /// <summary>V x C x H x W: the pixels of every view, on the CPU for views of photos.</summary>
    public Tensor Pixels { get; }

    /// <summary>For each view, its image and where in the image it lies.</summary>
    public IReadOnlyList<View> Views { get; }

    /// <summary>The width and height of each original image.</summary>
    public IReadOnlyList<(int Width, int Height)> ImageSizes { get; }

    /// <summary>
    /// Each image of <paramref name="images"/> (N x C x H x W, already what the model takes) as its only view. The
    /// views share the images' memory; disposing the views leaves the images alone.
    /// </summary>
    public static CandidateViews Whole(Tensor images)
    {
        if (images.dim() != 4 || images.shape[0] == 0)
            throw new ArgumentException($"Expected a non-empty batch of images N x C x H x W; got [{string.Join(", ", images.shape)}].", nameof(images));
        int n = (int)images.shape[0], height = (int)images.shape[2], width = (int)images.shape[3];
        var views = Enumerable.Range(0, n).Select(i => new View(i, new Region(0, 0, width, height), 1, 1, Math.Min(width, height))).ToList();
        return new CandidateViews(images, views, Enumerable.Repeat((width, height), n).ToList(), ownsPixels: false);
    }

    /// <summary>
    /// Each photo (C x H x W in [0,1], any size, any of 1 or 3 channels) converted to the channels of
    /// <paramref name="model"/>, scaled so that its shorter side is each of <paramref name="shorterSides"/> in turn
    /// (<see cref="Data.Images.Scale"/>), and cut into squares of the model's input size that overlap by
    /// <paramref name="overlap"/> of their side (the last square of a row or column is moved in to end at the border).
    /// A shorter side equal to the input size gives the photo at its usual scale; larger ones give views that each
    /// show a smaller part of it, whose units see smaller regions of the photo.
    /// </summary>
    public static CandidateViews Of(VisionModel model, IReadOnlyList<Tensor> photos, IReadOnlyList<int> shorterSides, double overlap = 0.5)
    {
        int size = model.Input.Height;
        if (model.Input.Width != size)
            throw new ArgumentException($"{model.Name} takes {model.Input.Width} x {model.Input.Height} images; candidate views are square.", nameof(model));
        if (photos.Count == 0)
            throw new ArgumentException("There are no photos to cut into views.", nameof(photos));
        if (shorterSides.Count == 0 || shorterSides.Any(s => s < size))
            throw new ArgumentOutOfRangeException(nameof(shorterSides), $"Give at least one shorter side, each at least the model's input size {size}; got [{string.Join(", ", shorterSides)}].");
        if (overlap is < 0 or >= 1)
            throw new ArgumentOutOfRangeException(nameof(overlap), $"The overlap of neighbouring views is a fraction in [0, 1); got {overlap}.");
        int stride = Math.Max(1, (int)Math.Round(size * (1 - overlap)));
        var views = new List<View>();
        var sizes = new List<(int Width, int Height)>();
        var crops = new List<Tensor>();
        using var scope = NewDisposeScope();
        for (int i = 0; i < photos.Count; i++)
        {
            var photo = photos[i];
            if (photo.dim() != 3)
                throw new ArgumentException($"Photo {i} is shaped [{string.Join(", ", photo.shape)}]; expected one image C x H x W.", nameof(photos));
            int height = (int)photo.shape[1], width = (int)photo.shape[2];
            sizes.Add((width, height));
            foreach (int side in shorterSides.Distinct())
            {
                var scaled = Data.Images.Scale(photo, model, side);
                int scaledHeight = (int)scaled.shape[2], scaledWidth = (int)scaled.shape[3];
                foreach (int top in Offsets(scaledHeight, size, stride))
                    foreach (int left in Offsets(scaledWidth, size, stride))
                    {
                        views.Add(new View(i, new Region(left, top, size, size), (double)scaledWidth / width, (double)scaledHeight / height, side));
                        crops.Add(scaled[0, .., top..(top + size), left..(left + size)]);
                    }
            }
        }
        var pixels = stack(crops).MoveToOuterDisposeScope();
        return new CandidateViews(pixels, views, sizes, ownsPixels: true);
    }

    /// <summary>The starts of squares of <paramref name="size"/> every <paramref name="stride"/> along a side, the last one ending at the side's end.</summary>
    internal static List<int> Offsets(int length, int size, int stride)
    {
        var starts = new List<int>();
        for (int start = 0; start + size < length; start += stride)
            starts.Add(start);
        starts.Add(length - size);
        return starts;
    }

    public void Dispose()
    {
        if (ownsPixels)
            Pixels.Dispose();
    }
}

/// <summary>
/// The responses of some channels of one layer over a set of candidate views, from one pass through the network, so
/// that several questions can be asked of it: each channel's top regions (<see cref="Top"/>), and how strongly each
/// channel responds anywhere in each image (<see cref="PeakPerImage"/>). Made by <see cref="TopPatches.Scan(VisionModel, CandidateViews, string, IReadOnlyList{int}?, int)"/>.
/// </summary>
public sealed class LayerScan : IDisposable
{
    readonly CandidateViews views;
    readonly Region[] boxes;
    readonly List<int>[] viewsOf;

    internal LayerScan(CandidateViews views, string layer, IReadOnlyList<int> channels, Tensor maps, ReceptiveField field)
    {
        this.views = views;
        Layer = layer;
        Channels = channels;
        Maps = maps;
        int rows = (int)maps.shape[2], columns = (int)maps.shape[3];
        int viewHeight = (int)views.Pixels.shape[2], viewWidth = (int)views.Pixels.shape[3];
        // Every view has the same size, so one table of receptive-field boxes serves all.
        boxes = Enumerable.Range(0, rows * columns).Select(p =>
        {
            var (left, top, width, height) = field.Box(p / columns, p % columns, viewHeight, viewWidth);
            return new Region(left, top, width, height);
        }).ToArray();
        viewsOf = Enumerable.Range(0, views.ImageSizes.Count).Select(_ => new List<int>()).ToArray();
        for (int v = 0; v < views.Views.Count; v++)
            viewsOf[views.Views[v].Image].Add(v);
    }

    public string Layer { get; }

    /// <summary>The channels scanned, in the order of <see cref="Maps"/>' second dimension.</summary>
    public IReadOnlyList<int> Channels { get; }

    /// <summary>V x K x rows x columns on the CPU: channel <see cref="Channels"/>[k] of the layer for view v.</summary>
    public Tensor Maps { get; }

    /// <summary>Images x K: each scanned channel's strongest response anywhere in any view of each image.</summary>
    public Tensor PeakPerImage()
    {
        using var scope = NewDisposeScope();
        var perView = Maps.amax([2, 3]);
        var peaks = stack(viewsOf.Select(v => perView.index_select(0, tensor(v.Select(x => (long)x).ToArray())).amax(0)));
        return peaks.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Channels that each prefer one image: for up to <paramref name="count"/> different images, the scanned channel
    /// whose peak on that image (<see cref="PeakPerImage"/>) exceeds its peak on every other image by the largest
    /// factor, most selective first. A way to pick units to look at without looking first.
    /// </summary>
    public List<(int Channel, int Image, float Preference)> MostSelective(int count)
    {
        if (count < 1)
            throw new ArgumentOutOfRangeException(nameof(count), "Ask for at least one channel.");
        if (viewsOf.Length < 2)
            throw new InvalidOperationException("Preferring one image needs at least two images.");
        using var scope = NewDisposeScope();
        var ranked = PeakPerImage().sort(0, descending: true);
        var preference = (ranked.Values[0] / ranked.Values[1].clamp_min(1e-6f)).data<float>().ToArray();
        var favourite = ranked.Indices[0].data<long>().ToArray();
        var peak = ranked.Values[0].data<float>().ToArray();
        return Enumerable.Range(0, Channels.Count)
            .Where(k => peak[k] > 0)
            .GroupBy(k => (int)favourite[k])
            .Select(g => g.OrderByDescending(k => preference[k]).ThenBy(k => k).First())
            .OrderByDescending(k => preference[k]).ThenBy(k => k)
            .Take(count)
            .Select(k => (Channels[k], (int)favourite[k], preference[k]))
            .ToList();
    }

    /// <summary>
    /// The <paramref name="count"/> regions where <paramref name="channel"/> responds most, at most
    /// <paramref name="perImage"/> from one image. Non-maximum suppression compares the regions of one image across all
    /// its views, in the image's own pixels, dropping a region whose IoU with a stronger one exceeds
    /// <paramref name="iouThreshold"/>, so the same object seen at two scales or in two overlapping views counts once.
    /// </summary>
    public List<Patch> Top(int channel, int count = 8, double iouThreshold = 0.3, int perImage = 1)
    {
        if (count < 1 || perImage < 1)
            throw new ArgumentOutOfRangeException(nameof(count), "Count and patches per image must be at least 1.");
        if (iouThreshold is < 0 or > 1)
            throw new ArgumentOutOfRangeException(nameof(iouThreshold), $"The overlap threshold is an IoU in [0, 1]; got {iouThreshold}.");
        int k = Channels.ToList().IndexOf(channel);
        if (k < 0)
            throw new ArgumentOutOfRangeException(nameof(channel), $"Channel {channel} of '{Layer}' was not scanned; scanned: {string.Join(", ", Channels.Take(12))}{(Channels.Count > 12 ? ", …" : "")}.");
        int positions = boxes.Length;
        float[] values;   // view-major, then row, then column
        using (NewDisposeScope())
            values = Maps[.., k].contiguous().data<float>().ToArray();
        var patches = new List<Patch>();
        for (int image = 0; image < viewsOf.Length; image++)
        {
            var (imageWidth, imageHeight) = views.ImageSizes[image];
            Region InImage(int c) => views.Views[c / positions].ToImage(boxes[c % positions], imageWidth, imageHeight);
            var order = viewsOf[image].SelectMany(v => Enumerable.Range(v * positions, positions))
                .OrderByDescending(c => values[c]).ThenBy(c => c);
            foreach (int c in TopPatches.Suppress(order, InImage, iouThreshold, perImage))
            {
                int v = c / positions, p = c % positions, columns = (int)Maps.shape[3];
                patches.Add(new Patch(image, InImage(c), values[c], p / columns, p % columns, v, boxes[p]));
            }
        }
        return patches.OrderByDescending(p => p.Activation).ThenBy(p => p.Image).Take(count).ToList();
    }

    public void Dispose() => Maps.Dispose();
}

/// <summary>
/// Treats one channel of a layer as a detector of its own (Girshick et al., R-CNN): scans images, maps each
/// position of the channel back to the image region it sees, ranks regions by activation, keeps per image only
/// regions that do not overlap much (non-maximum suppression), and returns the best. Notebook 05.
/// </summary>
public static class TopPatches
{
    /// <summary>
    /// Greedy non-maximum suppression: walk the candidates from strongest to weakest and keep each one whose
    /// overlap (IoU) with every region kept so far is at most <paramref name="iouThreshold"/>.
    /// </summary>
    public static List<int> NonMaximumSuppression(IReadOnlyList<Region> regions, IReadOnlyList<float> scores, double iouThreshold)
    {
        if (regions.Count != scores.Count)
            throw new ArgumentException("Every region needs one score.");
        var order = Enumerable.Range(0, regions.Count).OrderByDescending(i => scores[i]).ThenBy(i => i);
        return Suppress(order, i => regions[i], iouThreshold, int.MaxValue);
    }

    /// <summary>
    /// The <paramref name="count"/> regions of <paramref name="images"/> (N x C x H x W pixels) where channel
    /// <paramref name="channel"/> of <paramref name="layer"/> responds most, at most <paramref name="perImage"/>
    /// from one image, overlapping regions of one image suppressed above <paramref name="iouThreshold"/>.
    /// </summary>
    public static List<Patch> Find(VisionModel model, Tensor images, string layer, int channel, int count = 8,
        double iouThreshold = 0.3, int perImage = 1, int batchSize = 100)
    {
        using var views = CandidateViews.Whole(images);
        return Find(model, views, layer, channel, count, iouThreshold, perImage, batchSize);
    }

    /// <summary>
    /// As <see cref="Find(VisionModel, Tensor, string, int, int, double, int, int)"/>, over candidate views (for
    /// example photos at several scales); see <see cref="LayerScan.Top"/>. To ask about several channels, scan once
    /// with <see cref="Scan(VisionModel, CandidateViews, string, IReadOnlyList{int}?, int)"/>.
    /// </summary>
    public static List<Patch> Find(VisionModel model, CandidateViews views, string layer, int channel, int count = 8,
        double iouThreshold = 0.3, int perImage = 1, int batchSize = 32)
    {
        if (count < 1 || perImage < 1 || batchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(count), "Count, patches per image and batch size must be at least 1.");
        using var scan = Scan(model, views, layer, [channel], batchSize);
        return scan.Top(channel, count, iouThreshold, perImage);
    }

    /// <summary>
    /// Runs every view through the network once (in batches of <paramref name="batchSize"/>) and keeps
    /// <paramref name="channels"/> of <paramref name="layer"/> (all of them when null) for the questions of
    /// <see cref="LayerScan"/>. The scan refers to <paramref name="views"/>: keep them until it is disposed.
    /// </summary>
    public static LayerScan Scan(VisionModel model, CandidateViews views, string layer, IReadOnlyList<int>? channels = null, int batchSize = 32)
    {
        if (channels is { Count: 0 })
            throw new ArgumentException("Name at least one channel, or none (null) for all.", nameof(channels));
        return Scan(model, views, [layer], channels, batchSize)[layer];
    }

    /// <summary>
    /// As <see cref="Scan(VisionModel, CandidateViews, string, IReadOnlyList{int}?, int)"/> for several layers at once,
    /// all their channels, from one pass of the views through the network: one scan per layer, by name.
    /// </summary>
    public static Dictionary<string, LayerScan> Scan(VisionModel model, CandidateViews views, IReadOnlyList<string> layers, int batchSize = 32) =>
        Scan(model, views, layers, null, batchSize);

    static Dictionary<string, LayerScan> Scan(VisionModel model, CandidateViews views, IReadOnlyList<string> layers, IReadOnlyList<int>? channels, int batchSize)
    {
        if (batchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(batchSize), "The batch size must be at least 1.");
        if (layers.Count == 0 || layers.Distinct().Count() != layers.Count)
            throw new ArgumentException($"Name each layer to scan once; got [{string.Join(", ", layers)}].", nameof(layers));
        // An unknown layer fails here with the valid names.
        var fields = layers.ToDictionary(layer => layer, layer => ReceptiveField.Of(ReceptiveField.PathTo(model, layer)));
        var kept = layers.ToDictionary(layer => layer, _ => channels);
        var parts = layers.ToDictionary(layer => layer, _ => new List<Tensor>());
        long total = views.Pixels.shape[0];
        using var scope = NewDisposeScope();
        using var progress = ProgressDisplay.Start($"Scanning {string.Join(", ", layers)}", (int)total);
        for (long start = 0; start < total; start += batchSize)
        {
            long size = Math.Min(batchSize, total - start);
            var outputs = model.Activations(views.Pixels.narrow(0, start, size).to(model.Device), [.. layers]);   // captured outputs belong to no scope
            try
            {
                foreach (var layer in layers)
                {
                    var maps = outputs[layer];
                    if (maps.dim() != 4)
                        throw new ArgumentException($"Layer '{layer}' gives [{string.Join(", ", maps.shape)}], not feature maps N x C x H x W; pick a convolutional layer.", nameof(layers));
                    var chosen = kept[layer] ??= Enumerable.Range(0, (int)maps.shape[1]).ToList();
                    if (chosen.Where(c => c < 0 || c >= maps.shape[1]).Select(c => (int?)c).FirstOrDefault() is int bad)
                        throw new ArgumentOutOfRangeException(nameof(channels), $"Layer '{layer}' has {maps.shape[1]} channels of feature maps; channel {bad} does not exist.");
                    var index = tensor(chosen.Select(c => (long)c).ToArray(), device: maps.device);
                    parts[layer].Add(maps.index_select(1, index).cpu());
                }
            }
            finally
            {
                foreach (var output in outputs.Values)
                    output.Dispose();
            }
            progress.Report((int)(start + size));
        }
        return layers.ToDictionary(layer => layer, layer => new LayerScan(views, layer, kept[layer]!, cat(parts[layer], 0).MoveToOuterDisposeScope(), fields[layer]));
    }

    /// <summary>Each patch cut out of its image, with its activation as caption (the R-CNN figure's rows).</summary>
    public static List<Tile> Crops(Tensor images, IEnumerable<Patch> patches) => Crops(i => images[i], patches);

    /// <summary>
    /// Each patch cut out of its photo (C x H x W, the originals the candidate views were made from, so the crop has the
    /// photo's full resolution), with its activation as caption.
    /// </summary>
    public static List<Tile> Crops(IReadOnlyList<Tensor> photos, IEnumerable<Patch> patches) => Crops(i => photos[i], patches);

    /// <summary>Each patch's whole image with its region drawn as a box labelled with the activation.</summary>
    public static List<Tile> Boxes(Tensor images, IEnumerable<Patch> patches) => Boxes(i => images[i], patches);

    /// <summary>Each patch's whole photo with its region drawn as a box labelled with the activation.</summary>
    public static List<Tile> Boxes(IReadOnlyList<Tensor> photos, IEnumerable<Patch> patches) => Boxes(i => photos[i], patches);

    /// <summary>
    /// One tile per photo that holds any of the patches, in order of its strongest patch, with all its patches drawn as
    /// boxes labelled with their activation: how the regions kept by non-maximum suppression lie in one photo.
    /// </summary>
    public static List<Tile> BoxesPerImage(IReadOnlyList<Tensor> photos, IEnumerable<Patch> patches) =>
        patches.GroupBy(p => p.Image)
            .OrderByDescending(g => g.Max(p => p.Activation))
            .Select(g => new Tile(photos[g.Key], $"image {g.Key}")
            {
                Boxes = g.Select(p => new Box(p.Region.Left, p.Region.Top, p.Region.Width, p.Region.Height, $"{p.Activation:F1}")).ToList(),
            }).ToList();

    static List<Tile> Crops(Func<int, Tensor> image, IEnumerable<Patch> patches) =>
        patches.Select(p => new Tile(image(p.Image)[.., p.Region.Top..(p.Region.Top + p.Region.Height), p.Region.Left..(p.Region.Left + p.Region.Width)],
            $"{p.Activation:F1}")).ToList();

    static List<Tile> Boxes(Func<int, Tensor> image, IEnumerable<Patch> patches) =>
        patches.Select(p => new Tile(image(p.Image), $"image {p.Image}")
        {
            Boxes = [new Box(p.Region.Left, p.Region.Top, p.Region.Width, p.Region.Height, $"{p.Activation:F1}")],
        }).ToList();

    /// <summary>Greedy suppression over candidates given strongest first; stops once <paramref name="limit"/> are kept.</summary>
    internal static List<int> Suppress(IEnumerable<int> strongestFirst, Func<int, Region> region, double iouThreshold, int limit)
    {
        var kept = new List<int>();
        var keptRegions = new List<Region>();
        foreach (int c in strongestFirst)
        {
            if (kept.Count >= limit)
                break;
            var r = region(c);
            if (keptRegions.All(k => k.IoU(r) <= iouThreshold))
            {
                kept.Add(c);
                keptRegions.Add(r);
            }
        }
        return kept;
    }
}
