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

/// <summary>One of the regions that excite a unit most: which image, where, and how strongly.</summary>
public sealed record Patch(int Image, Region Region, float Activation, int Y, int X);

/// <summary>
/// Treats one channel of a layer as a detector of its own (Girshick et al., R-CNN): scans images, maps each
/// position of the channel back to the image region it sees, ranks regions by activation, keeps per image only
/// regions that do not overlap much (non-maximum suppression), and returns the best.
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
        var kept = new List<int>();
        foreach (int i in Enumerable.Range(0, regions.Count).OrderByDescending(i => scores[i]).ThenBy(i => i))
            if (kept.All(k => regions[k].IoU(regions[i]) <= iouThreshold))
                kept.Add(i);
        return kept;
    }

    /// <summary>
    /// The <paramref name="count"/> regions of <paramref name="images"/> (N x C x H x W pixels) where channel
    /// <paramref name="channel"/> of <paramref name="layer"/> responds most, at most <paramref name="perImage"/>
    /// from one image, overlapping regions of one image suppressed above <paramref name="iouThreshold"/>.
    /// </summary>
    public static List<Patch> Find(VisionModel model, Tensor images, string layer, int channel, int count = 8,
        double iouThreshold = 0.3, int perImage = 1, int batchSize = 100)
    {
        foreach (var (value, name) in new[] { (count, nameof(count)), (perImage, nameof(perImage)), (batchSize, nameof(batchSize)) })
            if (value < 1)
                throw new ArgumentOutOfRangeException(name, $"The count, the patches per image and the batch size must be at least 1; {name} is {value}.");
        if (images.shape[0] == 0)
            throw new ArgumentException("The image set is empty.", nameof(images));
        var field = ReceptiveField.Of(ReceptiveField.PathTo(model, layer));
        int height = (int)images.shape[2], width = (int)images.shape[3];
        var candidates = new List<Patch>();
        using var progress = ProgressDisplay.Start($"Scanning {layer} #{channel}", (int)images.shape[0]);
        for (long start = 0; start < images.shape[0]; start += batchSize)
        {
            using var batchScope = NewDisposeScope();
            long size = Math.Min(batchSize, images.shape[0] - start);
            using var maps = model.Activations(images.narrow(0, start, size), layer)[layer];   // captured outputs belong to no scope
            if (maps.dim() != 4 || channel < 0 || channel >= maps.shape[1])
                throw new ArgumentOutOfRangeException(nameof(channel), $"Layer '{layer}' has {(maps.dim() == 4 ? maps.shape[1] : 0)} channels of feature maps; channel {channel} does not exist.");
            var values = maps[.., channel].cpu();
            int rows = (int)values.shape[1], columns = (int)values.shape[2];
            var flat = values.reshape(size, -1).data<float>().ToArray();
            for (int n = 0; n < size; n++)
            {
                var positions = Enumerable.Range(0, rows * columns).ToList();
                var regions = positions.Select(p => ToRegion(field.Box(p / columns, p % columns, height, width))).ToList();
                var scores = positions.Select(p => flat[n * rows * columns + p]).ToList();
                foreach (int k in NonMaximumSuppression(regions, scores, iouThreshold).Take(perImage))
                    candidates.Add(new Patch((int)start + n, regions[k], scores[k], positions[k] / columns, positions[k] % columns));
            }
            progress.Report((int)(start + size));
        }
        return candidates.OrderByDescending(p => p.Activation).Take(count).ToList();
    }

    /// <summary>Each patch cut out of its image, with its activation as caption (the R-CNN figure's rows).</summary>
    public static List<Tile> Crops(Tensor images, IEnumerable<Patch> patches) =>
        patches.Select(p => new Tile(images[p.Image, .., p.Region.Top..(p.Region.Top + p.Region.Height), p.Region.Left..(p.Region.Left + p.Region.Width)],
            $"{p.Activation:F1}")).ToList();

    /// <summary>Each patch's whole image with its region drawn as a box labelled with the activation.</summary>
    public static List<Tile> Boxes(Tensor images, IEnumerable<Patch> patches) =>
        patches.Select(p => new Tile(images[p.Image], $"image {p.Image}")
        {
            Boxes = [new Box(p.Region.Left, p.Region.Top, p.Region.Width, p.Region.Height, $"{p.Activation:F1}")],
        }).ToList();

    static Region ToRegion((int Left, int Top, int Width, int Height) box) => new(box.Left, box.Top, box.Width, box.Height);
}
