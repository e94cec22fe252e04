using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Features;

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
