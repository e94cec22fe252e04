using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using WhatNetworksLearn.Rendering;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Features;

/// <summary>A rectangular region of an image, in pixels.</summary>
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
        foreach (var (value, name) in new[] { (count, nameof(count)), (perImage, nameof(perImage)), (batchSize, nameof(batchSize)) })
            if (value < 1)
                throw new ArgumentOutOfRangeException(name, $"The count, the patches per image and the batch size must be at least 1; {name} is {value}.");
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
