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
    /// small enough (down to 9 pixels) for their words to fit the tile, and wrap onto more lines.
    /// </summary>
    public static Figure Grid(IEnumerable<Tile> tiles, string title, int columns = 8, int tileSize = 96)
    {
        var list = tiles.ToList();
        if (list.Count == 0)
            throw new ArgumentException("A grid needs at least one tile.", nameof(tiles));
        if (columns < 1 || tileSize < 8)
            throw new ArgumentOutOfRangeException(nameof(columns), "Columns must be at least 1 and the tile size at least 8 pixels.");
        columns = Math.Min(columns, list.Count);
        int rows = (list.Count + columns - 1) / columns;
        // Captions fit their tile: one text size for the whole figure (smaller for narrow tiles), then wrapped.
        float captionSize = Fonts.SizeToFit(list.Select(t => t.Caption ?? ""), tileSize, CaptionSize, MinimumCaptionSize);
        using var captionPaint = Fonts.Paint(captionSize, new SKColor(0x33, 0x33, 0x33));
        var captions = list.Select(t => t.Caption is null ? [] : Fonts.Wrap(t.Caption, captionPaint, tileSize)).ToList();
        int captionLineHeight = (int)Math.Ceiling(captionSize * CaptionLineSpacing);
        int cellHeight = tileSize + captions.Max(c => c.Count) * captionLineHeight;
        using var titlePaint = Fonts.Paint(TitleSize, SKColors.Black);
        int contentWidth = 2 * Margin + columns * tileSize + (columns - 1) * Gap;
        // A long title widens a narrow figure up to 640 pixels, then wraps onto more lines.
        int width = Math.Max(contentWidth, Math.Min(640, (int)titlePaint.MeasureText(title) + 2 * Margin));
        var titleLines = string.IsNullOrEmpty(title) ? [] : Fonts.Wrap(title, titlePaint, width - 2 * Margin);
        int titleHeight = titleLines.Count == 0 ? 0 : titleLines.Count * ((int)TitleSize + 4) + 6;
        int height = 2 * Margin + titleHeight + rows * cellHeight + (rows - 1) * Gap;

        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        for (int l = 0; l < titleLines.Count; l++)
            canvas.DrawText(titleLines[l], Margin, Margin + TitleSize + l * (TitleSize + 4), titlePaint);

        for (int i = 0; i < list.Count; i++)
        {
            int x = Margin + i % columns * (tileSize + Gap);
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
        var chw = Pixels.AsChw(image).to_type(ScalarType.Float32).cpu();
        long height = chw.shape[1], width = chw.shape[2];
        var values = map.detach().cpu().to_type(ScalarType.Float32);
        if (values.dim() != 2)
            throw new ArgumentException($"Expected a map shaped H x W; got [{string.Join(", ", map.shape)}].", nameof(map));
        if (values.shape[0] != height || values.shape[1] != width)
            values = nn.functional.interpolate(values[TensorIndex.None, TensorIndex.None], [height, width], mode: InterpolationMode.Bilinear, align_corners: false)[0, 0];
        if (normalize)
            values = Pixels.Normalize(values);
        var colours = Colormaps.Apply(values, colormap);
        var rgb = chw.shape[0] == 1 ? chw.expand(3, height, width) : chw;
        return (rgb * (1 - opacity) + colours * opacity).clamp(0, 1).MoveToOuterDisposeScope();
    }

    /// <summary>A map of one value per pixel in colour (rescaled to [0,1] first unless <paramref name="normalize"/> is false).</summary>
    public static Tensor HeatMap(Tensor map, Colormap colormap = Colormap.Jet, bool normalize = true)
    {
        using var scope = NewDisposeScope();
        var values = map.detach().cpu().to_type(ScalarType.Float32);
        return Colormaps.Apply(normalize ? Pixels.Normalize(values) : values, colormap).MoveToOuterDisposeScope();
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
