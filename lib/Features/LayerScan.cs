using WhatNetworksLearn.Models;
using WhatNetworksLearn.Rendering;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Features;

/// <summary>
/// How selective one unit is over the candidate regions of a scan (<see cref="LayerScan.RankBySelectivity"/>): the mean
/// activation of its top regions over its mean activation on all candidates, how many different images those top
/// regions come from, and the regions themselves, strongest first.
/// </summary>
public sealed record UnitSelectivity(int Channel, double Selectivity, int Images, IReadOnlyList<Patch> Top);

/// <summary>
/// The responses of some channels of one layer over a set of candidate views, from one pass through the network, so
/// that several questions can be asked of it: each channel's top regions (<see cref="Top"/>), how selective each channel
/// is over all candidate regions (<see cref="RankBySelectivity"/>), and how strongly each channel responds anywhere in
/// each image (<see cref="PeakPerImage"/>). Made by <see cref="TopPatches.Scan(VisionModel, CandidateViews, string, IReadOnlyList{int}?, int)"/>.
/// </summary>
public sealed class LayerScan : IDisposable
{
    readonly Region[] boxes;
    readonly List<int>[] viewsOf;
    readonly PositionBlock everyPosition, wholeFieldPositions;

    /// <summary>A block of map positions: rows <see cref="Top"/> on, columns <see cref="Left"/> on.</summary>
    readonly record struct PositionBlock(int Top, int Rows, int Left, int Columns)
    {
        public int Count => Rows * Columns;
        public Tensor Of(Tensor maps) => maps.narrow(-2, Top, Rows).narrow(-1, Left, Columns);
        public (int Y, int X) Position(int i) => (Top + i / Columns, Left + i % Columns);
    }

    internal LayerScan(CandidateViews views, string layer, IReadOnlyList<int> channels, Tensor maps, ReceptiveField field)
    {
        Views = views;
        Field = field;
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
        // Positions whose field is not cut by the view's border: it lies whole in the view, or, larger than the view, covers
        // it. The width of a box depends on its column alone and its height on its row, so they form a block.
        everyPosition = new PositionBlock(0, rows, 0, columns);
        var wholeRows = Enumerable.Range(0, rows).Where(y => boxes[y * columns].Height == Math.Min(field.Size, viewHeight)).ToList();
        var wholeColumns = Enumerable.Range(0, columns).Where(x => boxes[x].Width == Math.Min(field.Size, viewWidth)).ToList();
        wholeFieldPositions = wholeRows.Count == 0 || wholeColumns.Count == 0 ? new PositionBlock(0, 0, 0, 0)
            : new PositionBlock(wholeRows[0], wholeRows.Count, wholeColumns[0], wholeColumns.Count);
        viewsOf = Enumerable.Range(0, views.ImageSizes.Count).Select(_ => new List<int>()).ToArray();
        for (int v = 0; v < views.Views.Count; v++)
            viewsOf[views.Views[v].Image].Add(v);
    }

    public string Layer { get; }

    /// <summary>The views scanned: each candidate region lies in one of them.</summary>
    public CandidateViews Views { get; }

    /// <summary>The receptive field of the layer's units in a view's pixels.</summary>
    public ReceptiveField Field { get; }

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
    /// With <paramref name="wholeFieldsOnly"/>, only units whose receptive field the view does not cut are candidates:
    /// those whose field lies whole in the view, or, for a field larger than the view, covers all of it. A unit at the
    /// border of a view sees padding where the photo goes on, and often responds to that edge rather than to the photo.
    /// </summary>
    public List<Patch> Top(int channel, int count = 8, double iouThreshold = 0.3, int perImage = 1, bool wholeFieldsOnly = false)
    {
        if (count < 1 || perImage < 1)
            throw new ArgumentOutOfRangeException(nameof(count), "Count and patches per image must be at least 1.");
        if (iouThreshold is < 0 or > 1)
            throw new ArgumentOutOfRangeException(nameof(iouThreshold), $"The overlap threshold is an IoU in [0, 1]; got {iouThreshold}.");
        int k = IndexOf(channel);
        var positions = Positions(wholeFieldsOnly);
        int columns = (int)Maps.shape[3];
        using var values = Candidates(k, positions);
        var patches = new List<Patch>();
        var keptIn = new Dictionary<int, List<Region>>();
        // One walk over all candidates, strongest first: a candidate is kept unless its image already has perImage
        // regions or one that overlaps it too much. Each image's regions are thus its own greedy suppression.
        foreach (var (c, activation) in StrongestFirst(values))
        {
            var (y, x) = positions.Position(c % positions.Count);
            int v = c / positions.Count, p = y * columns + x;
            var view = Views.Views[v];
            if (!keptIn.TryGetValue(view.Image, out var kept))
                keptIn[view.Image] = kept = [];
            if (kept.Count >= perImage)
                continue;
            var (imageWidth, imageHeight) = Views.ImageSizes[view.Image];
            var region = view.ToImage(boxes[p], imageWidth, imageHeight);
            if (kept.Any(r => r.IoU(region) > iouThreshold))
                continue;
            kept.Add(region);
            patches.Add(new Patch(view.Image, region, activation, p / columns, p % columns, v, boxes[p]));
            if (patches.Count == count)
                break;
        }
        return patches;
    }

    /// <summary>
    /// Every scanned channel ranked by how selective it is over all candidate regions: the mean activation of its
    /// <paramref name="regions"/> top regions (<see cref="Top"/>, with <paramref name="iouThreshold"/> and
    /// <paramref name="perImage"/>) divided by its mean activation over every candidate (every position of every view,
    /// or those <paramref name="wholeFieldsOnly"/> keeps). A unit that responds a little to everything scores near 1; one
    /// that is silent on most regions and strong on a few scores high; one that never responds scores 0. Each comes with
    /// its top regions and how many different images they are from.
    /// </summary>
    public List<UnitSelectivity> RankBySelectivity(int regions = 8, double iouThreshold = 0.3, int perImage = 3, bool wholeFieldsOnly = false)
    {
        if (regions < 1)
            throw new ArgumentOutOfRangeException(nameof(regions), $"Rank by at least one top region; got {regions}.");
        float[] means;
        using (NewDisposeScope())
            means = Positions(wholeFieldsOnly).Of(Maps).mean([0, 2, 3]).data<float>().ToArray();
        return Channels.Select((channel, k) =>
            {
                var top = Top(channel, regions, iouThreshold, perImage, wholeFieldsOnly);
                double selectivity = means[k] > 0 ? top.Average(p => (double)p.Activation) / means[k] : 0;
                return new UnitSelectivity(channel, selectivity, top.Select(p => p.Image).Distinct().Count(), top);
            })
            .OrderByDescending(u => u.Selectivity).ThenBy(u => u.Channel)
            .ToList();
    }

    /// <summary>
    /// Each patch as the unit saw it: its region cut from the view that holds it (the photo at that view's scale) and
    /// set on a mid-grey square as wide as the receptive field (at most the view), where it lies in the field; grey is
    /// the part of the field beyond the view's border, which the unit saw as padding. Every crop of a layer then has one
    /// scale, whatever the resolution of its photo or the scale of its view. Captioned with the activation.
    /// </summary>
    public List<Tile> CropsAsSeen(IEnumerable<Patch> patches)
    {
        int viewHeight = (int)Views.Pixels.shape[2], viewWidth = (int)Views.Pixels.shape[3];
        int height = Math.Min(Field.Size, viewHeight), width = Math.Min(Field.Size, viewWidth);
        return patches.Select(p =>
        {
            var r = p.InView;
            var (left, top) = Field.Corner(p.Y, p.X);
            int x = Math.Clamp(r.Left - left, 0, width - r.Width), y = Math.Clamp(r.Top - top, 0, height - r.Height);
            using var scope = NewDisposeScope();
            var square = full(Views.Pixels.shape[1], height, width, 0.5f);
            square[.., y..(y + r.Height), x..(x + r.Width)] = Views.Pixels[p.View, .., r.Top..(r.Top + r.Height), r.Left..(r.Left + r.Width)];
            return new Tile(square.MoveToOuterDisposeScope(), $"{p.Activation:F1}");
        }).ToList();
    }

    /// <summary>How many candidate regions there are: every position of every view, or those <paramref name="wholeFieldsOnly"/> keeps (see <see cref="Top"/>).</summary>
    public long CandidateCount(bool wholeFieldsOnly = false) => (long)Views.Views.Count * Positions(wholeFieldsOnly).Count;

    PositionBlock Positions(bool wholeFieldsOnly)
    {
        if (wholeFieldsOnly && wholeFieldPositions.Count == 0)
            throw new InvalidOperationException($"No unit of '{Layer}' sees its whole field within a view; use every position (wholeFieldsOnly: false).");
        return wholeFieldsOnly ? wholeFieldPositions : everyPosition;
    }

    /// <summary>Channel k's activation at <paramref name="positions"/> of every view, view-major: candidate c is position c % positions.Count of view c / positions.Count.</summary>
    Tensor Candidates(int k, PositionBlock positions)
    {
        using var scope = NewDisposeScope();
        return positions.Of(Maps[.., k]).reshape(-1).MoveToOuterDisposeScope();
    }

    int IndexOf(int channel)
    {
        int k = Channels.ToList().IndexOf(channel);
        if (k < 0)
            throw new ArgumentOutOfRangeException(nameof(channel), $"Channel {channel} of '{Layer}' was not scanned; scanned: {string.Join(", ", Channels.Take(12))}{(Channels.Count > 12 ? ", …" : "")}.");
        return k;
    }

    /// <summary>
    /// The indices and values of <paramref name="values"/> (1-D, on the CPU) from the largest down, ties by index. Only
    /// as many are sorted as the caller takes: the largest 256 first, then the next 2,048, and so on.
    /// </summary>
    internal static IEnumerable<(int Index, float Value)> StrongestFirst(Tensor values)
    {
        long n = values.shape[0];
        float above = float.PositiveInfinity;
        for (long take = Math.Min(n, 256); ; take = Math.Min(n, take * 8))
        {
            float floor;
            long[] indices;
            float[] chosen;
            using (NewDisposeScope())
            {
                floor = take == n ? float.NegativeInfinity : values.topk((int)take).values[take - 1].item<float>();
                var index = (values.ge(floor) & values.lt(above)).nonzero().reshape(-1);   // in ascending order
                var (sorted, order) = values.index_select(0, index).sort(descending: true, stable: true);   // stable: ties keep that order
                indices = index.index_select(0, order).data<long>().ToArray();
                chosen = sorted.data<float>().ToArray();
            }
            for (int i = 0; i < indices.Length; i++)
                yield return ((int)indices[i], chosen[i]);
            if (take == n)
                yield break;
            above = floor;
        }
    }

    public void Dispose() => Maps.Dispose();
}
