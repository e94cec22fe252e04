using SkiaSharp;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Rendering;

/// <summary>Draws the kit's figures: single images, grids of captioned tiles, heat maps over images.</summary>
public static class Plot
{
    const int Margin = 8;
    const int Gap = 6;
    const float TitleSize = 15;
    const float CaptionSize = 11;
    const float MinimumCaptionSize = 9;
    const float CaptionLineSpacing = 14f / 11;
    const int RowLabelWidth = 110;

    /// <summary>One image. Small images are enlarged with square pixels so that they can be seen.</summary>
    public static Figure Image(Tensor image, string title, string? caption = null, int? size = null)
    {
        var chw = Pixels.AsChw(image);
        long longest = Math.Max(chw.shape[1], chw.shape[2]);
        int display = size ?? (int)Math.Clamp(longest * Math.Max(1, 160 / longest), 160, 512);
        return Grid([new Tile(image, caption)], title, columns: 1, tileSize: display);
    }

    /// <summary>
    /// Tiles in rows of <paramref name="columns"/>; each image is scaled to fit a square of
    /// <paramref name="tileSize"/> pixels, with its caption below, never cut: the figure's captions share a text size
    /// small enough (down to 9 pixels) for their words to fit the tile, and wrap onto more lines. A
    /// <paramref name="note"/> is printed under the title: the place for a number the figure reports (it does not
    /// enter the file name, which comes from the title). <paramref name="rowLabels"/>, one per row, are written in a
    /// column to the left of the rows (for example the unit each row shows).
    /// </summary>
    public static Figure Grid(IEnumerable<Tile> tiles, string title, int columns = 8, int tileSize = 96, string? note = null,
        IReadOnlyList<string>? rowLabels = null)
    {
        var list = tiles.ToList();
        if (list.Count == 0)
            throw new ArgumentException("A grid needs at least one tile.", nameof(tiles));
        if (columns < 1 || tileSize < 8)
            throw new ArgumentOutOfRangeException(nameof(columns), "Columns must be at least 1 and the tile size at least 8 pixels.");
        columns = Math.Min(columns, list.Count);
        int rows = (list.Count + columns - 1) / columns;
        if (rowLabels is not null && rowLabels.Count != rows)
            throw new ArgumentException($"Give one label per row: {list.Count} tiles in rows of {columns} make {rows} rows, and {rowLabels.Count} labels were given.", nameof(rowLabels));
        // Captions fit their tile: one text size for the whole figure (smaller for narrow tiles), then wrapped.
        float captionSize = Fonts.SizeToFit(list.Select(t => t.Caption ?? ""), tileSize, CaptionSize, MinimumCaptionSize);
        using var captionPaint = Fonts.Paint(captionSize, new SKColor(0x33, 0x33, 0x33));
        var captions = list.Select(t => t.Caption is null ? [] : Fonts.Wrap(t.Caption, captionPaint, tileSize)).ToList();
        int captionLineHeight = (int)Math.Ceiling(captionSize * CaptionLineSpacing);
        int cellHeight = tileSize + captions.Max(c => c.Count) * captionLineHeight;
        using var rowLabelPaint = Fonts.Paint(CaptionSize, SKColors.Black);
        var labelLines = (rowLabels ?? []).Select(l => Fonts.Wrap(l, rowLabelPaint, RowLabelWidth)).ToList();
        int labelColumn = rowLabels is null ? 0 : RowLabelWidth + Gap;
        cellHeight = Math.Max(cellHeight, labelLines.Select(l => l.Count * captionLineHeight).DefaultIfEmpty(0).Max());
        using var titlePaint = Fonts.Paint(TitleSize, SKColors.Black);
        using var notePaint = Fonts.Paint(CaptionSize, new SKColor(0x33, 0x33, 0x33));
        int noteLineHeight = (int)Math.Ceiling(CaptionSize * CaptionLineSpacing);
        int contentWidth = 2 * Margin + labelColumn + columns * tileSize + (columns - 1) * Gap;
        // A long title or note widens a narrow figure up to 640 pixels, then wraps onto more lines.
        float heading = Math.Max(titlePaint.MeasureText(title), note is null ? 0 : notePaint.MeasureText(note));
        int width = Math.Max(contentWidth, Math.Min(640, (int)Math.Ceiling(heading) + 2 * Margin));
        var titleLines = string.IsNullOrEmpty(title) ? [] : Fonts.Wrap(title, titlePaint, width - 2 * Margin);
        var noteLines = string.IsNullOrEmpty(note) ? [] : Fonts.Wrap(note, notePaint, width - 2 * Margin);
        int titleHeight = titleLines.Count == 0 ? 0 : titleLines.Count * ((int)TitleSize + 4) + 6;
        int noteTop = Margin + titleHeight;
        titleHeight += noteLines.Count == 0 ? 0 : noteLines.Count * noteLineHeight + 6;
        int height = 2 * Margin + titleHeight + rows * cellHeight + (rows - 1) * Gap;

        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        for (int l = 0; l < titleLines.Count; l++)
            canvas.DrawText(titleLines[l], Margin, Margin + TitleSize + l * (TitleSize + 4), titlePaint);
        for (int l = 0; l < noteLines.Count; l++)
            canvas.DrawText(noteLines[l], Margin, noteTop + (l + 1) * noteLineHeight - 3, notePaint);

        for (int r = 0; r < labelLines.Count; r++)
            for (int l = 0; l < labelLines[r].Count; l++)
                canvas.DrawText(labelLines[r][l], Margin, Margin + titleHeight + r * (cellHeight + Gap) + (l + 1) * captionLineHeight - 3, rowLabelPaint);
        for (int i = 0; i < list.Count; i++)
        {
            int x = Margin + labelColumn + i % columns * (tileSize + Gap);
            int y = Margin + titleHeight + i / columns * (cellHeight + Gap);
            DrawTile(canvas, list[i], new SKRect(x, y, x + tileSize, y + tileSize));
            for (int l = 0; l < captions[i].Count; l++)
                canvas.DrawText(captions[i][l], x, y + tileSize + (l + 1) * captionLineHeight - 3, captionPaint);
        }
        using var snapshot = surface.Snapshot();
        using var png = snapshot.Encode(SKEncodedImageFormat.Png, 100);
        return new Figure(title, png.ToArray(), width, height);
    }

    /// <summary>
    /// The image with a map of one value per pixel laid over it in colour: <paramref name="map"/> is H x W
    /// (resized to the image if needed) and rescaled to [0,1] unless <paramref name="normalize"/> is false.
    /// Returns a 3 x H x W image, ready to be a <see cref="Tile"/>.
    /// </summary>
    public static Tensor HeatMapOverlay(Tensor image, Tensor map, Colormap colormap = Colormap.Jet, float opacity = 0.5f, bool normalize = true)
    {
        if (opacity is < 0 or > 1)
            throw new ArgumentOutOfRangeException(nameof(opacity), "Opacity must be between 0 and 1.");
        using var scope = NewDisposeScope();
        var (rgb, values) = ImageAndMap(image, map);
        if (normalize)
            values = Pixels.Normalize(values);
        var colours = Colormaps.Apply(values, colormap);
        return (rgb * (1 - opacity) + colours * opacity).clamp(0, 1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The image with a signed map laid over it on a fixed scale: <paramref name="map"/> / <paramref name="scale"/>,
    /// clipped to [-1, 1], is painted red where positive and blue where negative, with an opacity growing with its size
    /// up to <paramref name="opacity"/>; zero leaves the image as it is, except that a colour image is drawn in grey (its
    /// luminance), so that red and blue are the map's alone, on a red saucer as on a white shirt. Because the scale is
    /// fixed, a small value stays faint however small all the values of an image are: noise cannot pass for importance,
    /// as it does when each map is stretched to its own range. <paramref name="map"/> is H x W, resized to the image if
    /// needed. Returns 3 x H x W.
    /// </summary>
    public static Tensor SignedOverlay(Tensor image, Tensor map, float scale, float opacity = 0.8f)
    {
        if (!float.IsFinite(scale) || scale <= 0)
            throw new ArgumentOutOfRangeException(nameof(scale), $"The scale is the value painted in full colour and must be positive; got {scale}.");
        if (opacity is < 0 or > 1)
            throw new ArgumentOutOfRangeException(nameof(opacity), "Opacity must be between 0 and 1.");
        using var scope = NewDisposeScope();
        var (rgb, values) = ImageAndMap(image, map);
        if (Pixels.AsChw(image).shape[0] == 3)
            rgb = (rgb * tensor(new[] { 0.299f, 0.587f, 0.114f }).reshape(3, 1, 1)).sum(0, keepdim: true).expand_as(rgb);   // Rec. 601 luminance
        var v = (values / scale).clamp(-1, 1);
        var red = tensor(new[] { 0.9f, 0.05f, 0.05f }).reshape(3, 1, 1);
        var blue = tensor(new[] { 0.1f, 0.35f, 1f }).reshape(3, 1, 1);
        var colour = where(v.ge(0).unsqueeze(0), red, blue);
        var alpha = opacity * v.abs().unsqueeze(0);
        return (rgb * (1 - alpha) + colour * alpha).clamp(0, 1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The key of <see cref="SignedOverlay"/>: a strip from −scale (left, full blue) through 0 (the grey underneath) to
    /// +scale (right, full red), <paramref name="height"/> x <paramref name="width"/> pixels, to show as a tile beside the maps.
    /// </summary>
    public static Tensor SignedKey(int height = 24, int width = 160, float opacity = 0.8f)
    {
        if (height < 1 || width < 2)
            throw new ArgumentOutOfRangeException(nameof(width), "The key needs a height of at least 1 and a width of at least 2 pixels.");
        using var scope = NewDisposeScope();
        var ramp = linspace(-1, 1, width).unsqueeze(0).expand(height, width);
        return SignedOverlay(full(3, height, width, 0.5f), ramp, 1, opacity).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Two H x W masks compared pixel by pixel (values above 0.5 are inside): white where both hold the pixel, red where
    /// only <paramref name="truth"/> does (missed), blue where only <paramref name="mask"/> does (taken wrongly), black
    /// where neither does. Returns 3 x H x W.
    /// </summary>
    public static Tensor MaskComparison(Tensor mask, Tensor truth)
    {
        if (mask.dim() != 2 || !mask.shape.SequenceEqual(truth.shape))
            throw new ArgumentException($"Both masks must be H x W of the same size; got [{string.Join(", ", mask.shape)}] and [{string.Join(", ", truth.shape)}].", nameof(truth));
        using var scope = NewDisposeScope();
        var a = mask.detach().cpu().gt(0.5).unsqueeze(0);
        var b = truth.detach().cpu().gt(0.5).unsqueeze(0);
        var white = ones(3, 1, 1);
        var red = tensor(new[] { 0.9f, 0.1f, 0.1f }).reshape(3, 1, 1);
        var blue = tensor(new[] { 0.2f, 0.45f, 1f }).reshape(3, 1, 1);
        var black = zeros(3, 1, 1);
        return where(a.logical_and(b), white, where(b, red, where(a, blue, black))).MoveToOuterDisposeScope();
    }

    /// <summary>The image as 3 x H x W floats and the map as H x W floats of the image's size (bilinear when resized).</summary>
    static (Tensor Rgb, Tensor Map) ImageAndMap(Tensor image, Tensor map)
    {
        var chw = Pixels.AsChw(image).to_type(ScalarType.Float32).cpu();
        long height = chw.shape[1], width = chw.shape[2];
        var values = map.detach().cpu().to_type(ScalarType.Float32);
        if (values.dim() != 2)
            throw new ArgumentException($"Expected a map shaped H x W; got [{string.Join(", ", map.shape)}].", nameof(map));
        if (values.shape[0] != height || values.shape[1] != width)
            values = nn.functional.interpolate(values[TensorIndex.None, TensorIndex.None], [height, width], mode: InterpolationMode.Bilinear, align_corners: false)[0, 0];
        return (chw.shape[0] == 1 ? chw.expand(3, height, width) : chw, values);
    }

    /// <summary>
    /// A map of one value per pixel in colour (rescaled to [0,1] first unless <paramref name="normalize"/> is false).
    /// NaN marks a pixel without a value (say, where no occlusion patch was centred) and is drawn mid-grey.
    /// </summary>
    public static Tensor HeatMap(Tensor map, Colormap colormap = Colormap.Jet, bool normalize = true)
    {
        using var scope = NewDisposeScope();
        var values = map.detach().cpu().to_type(ScalarType.Float32);
        var missing = values.isnan();
        if (missing.any().item<bool>())
        {
            if (missing.all().item<bool>())
                return full(3, values.shape[0], values.shape[1], 0.5f).MoveToOuterDisposeScope();
            var filled = where(missing, values.masked_select(missing.logical_not()).min(), values);   // a known value, so normalising sees only those
            var coloured = Colormaps.Apply(normalize ? Pixels.Normalize(filled) : filled, colormap);
            return where(missing.unsqueeze(0).expand_as(coloured), full_like(coloured, 0.5f), coloured).MoveToOuterDisposeScope();
        }
        return Colormaps.Apply(normalize ? Pixels.Normalize(values) : values, colormap).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// A gradient (C x H x W or 1 x C x H x W) as a picture: zero is mid grey, and the value largest in size becomes
    /// black or white, the customary way of showing deconvnet and guided-backpropagation patterns. A single neuron's
    /// gradient often has a few very strong pixels that leave the rest faint; <paramref name="clipQuantile"/> below 1
    /// scales by that quantile of the non-zero magnitudes instead (0.99: the strongest 1% saturate), for more contrast.
    /// </summary>
    public static Tensor Gradient(Tensor gradient, double clipQuantile = 1.0)
    {
        if (clipQuantile is <= 0 or > 1)
            throw new ArgumentOutOfRangeException(nameof(clipQuantile), $"The clip quantile must lie in (0, 1]; got {clipQuantile}.");
        using var scope = NewDisposeScope();
        var chw = Pixels.AsChw(gradient.detach().cpu().to_type(ScalarType.Float32));
        var magnitudes = chw.abs().flatten();
        magnitudes = magnitudes.masked_select(magnitudes.gt(0)).sort().Values;   // guided gradients are mostly exact zeros
        if (magnitudes.shape[0] == 0)
            return full_like(chw, 0.5f).MoveToOuterDisposeScope();
        var scale = magnitudes[(long)Math.Round(clipQuantile * (magnitudes.shape[0] - 1))].item<float>();
        return (chw / (2 * scale) + 0.5f).clamp(0, 1).MoveToOuterDisposeScope();
    }

    static void DrawTile(SKCanvas canvas, Tile tile, SKRect cell)
    {
        using var bitmap = Pixels.ToBitmap(tile.Image);
        float scale = Math.Min(cell.Width / bitmap.Width, cell.Height / bitmap.Height);
        float drawnWidth = bitmap.Width * scale, drawnHeight = bitmap.Height * scale;
        float left = cell.Left + (cell.Width - drawnWidth) / 2, top = cell.Top + (cell.Height - drawnHeight) / 2;
        // Enlarged images keep square pixels; reduced ones are smoothed.
        using var imagePaint = new SKPaint { FilterQuality = scale >= 1 ? SKFilterQuality.None : SKFilterQuality.Medium };
        canvas.DrawBitmap(bitmap, new SKRect(left, top, left + drawnWidth, top + drawnHeight), imagePaint);

        // Boxes, circles and labels have a dark rim, so that they show on light images as well as on dark ones.
        using var stroke = new SKPaint { Color = tile.Color, Style = SKPaintStyle.Stroke, StrokeWidth = 2, IsAntialias = true };
        using var rim = new SKPaint { Color = Rim, Style = SKPaintStyle.Stroke, StrokeWidth = 4, IsAntialias = true };
        using var labelBackground = new SKPaint { Color = Rim, Style = SKPaintStyle.Fill };
        using var label = Fonts.Paint(CaptionSize, tile.Color);
        foreach (var box in tile.Boxes)
        {
            var rect = new SKRect(left + box.Left * scale, top + box.Top * scale,
                left + (box.Left + box.Width) * scale, top + (box.Top + box.Height) * scale);
            canvas.DrawRect(rect, rim);
            canvas.DrawRect(rect, stroke);
            if (box.Label is not null)
            {
                canvas.DrawRect(new SKRect(rect.Left + 1, rect.Top + 1, rect.Left + 4 + label.MeasureText(box.Label), rect.Top + CaptionSize + 4), labelBackground);
                canvas.DrawText(box.Label, rect.Left + 2, rect.Top + CaptionSize, label);
            }
        }
        foreach (var mark in tile.Marks)
        {
            var centre = new SKPoint(left + (mark.X + 0.5f) * scale, top + (mark.Y + 0.5f) * scale);
            canvas.DrawCircle(centre, Math.Max(mark.Radius * scale, 4), rim);
            canvas.DrawCircle(centre, Math.Max(mark.Radius * scale, 4), stroke);
        }
    }

    static readonly SKColor Rim = new(0, 0, 0, 150);
}
