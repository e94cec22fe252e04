using SkiaSharp;
using XPlot.Plotly;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Rendering;

/// <summary>Maps of points in two dimensions (such as a t-SNE map), coloured by class.</summary>
public static class ScatterPlot
{
    static readonly SKColor[] Palette =
    [
        new(0x1f, 0x77, 0xb4), new(0xff, 0x7f, 0x0e), new(0x2c, 0xa0, 0x2c), new(0xd6, 0x27, 0x28), new(0x94, 0x67, 0xbd),
        new(0x8c, 0x56, 0x4b), new(0xe3, 0x77, 0xc2), new(0x7f, 0x7f, 0x7f), new(0xbc, 0xbd, 0x22), new(0x17, 0xbe, 0xcf),
    ];

    /// <summary>
    /// A static map: every point as a dot in its class's colour, and, for every <paramref name="thumbnailEvery"/>-th
    /// point, its image drawn small at its place (so one sees what lies where), with a legend of the classes.
    /// </summary>
    public static Figure WithThumbnails(float[,] points, IReadOnlyList<int> labels, IReadOnlyList<string> classNames, Tensor? images,
        string title, int thumbnailEvery = 20, int size = 720, int thumbnailSize = 18)
    {
        int n = points.GetLength(0);
        if (labels.Count != n)
            throw new ArgumentException("Every point needs a label.", nameof(labels));
        const int margin = 24, top = 34, legendWidth = 130;
        float minX = float.MaxValue, maxX = float.MinValue, minY = float.MaxValue, maxY = float.MinValue;
        for (int i = 0; i < n; i++)
        {
            minX = Math.Min(minX, points[i, 0]); maxX = Math.Max(maxX, points[i, 0]);
            minY = Math.Min(minY, points[i, 1]); maxY = Math.Max(maxY, points[i, 1]);
        }
        float span = Math.Max(Math.Max(maxX - minX, maxY - minY), 1e-6f), plot = size - 2 * margin;
        SKPoint Map(int i) => new(margin + (points[i, 0] - minX) / span * plot, top + (points[i, 1] - minY) / span * plot);

        using var surface = SKSurface.Create(new SKImageInfo(size + legendWidth, size + top));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var titlePaint = Fonts.Paint(15, SKColors.Black);
        canvas.DrawText(title, 8, 20, titlePaint);
        for (int i = 0; i < n; i++)
        {
            using var dot = new SKPaint { Color = Palette[labels[i] % Palette.Length].WithAlpha(170), IsAntialias = true };
            canvas.DrawCircle(Map(i), 2.2f, dot);
        }
        if (images is not null)
        {
            for (int i = 0; i < n; i += thumbnailEvery)
            {
                using var bitmap = Pixels.ToBitmap(images[i]);
                var p = Map(i);
                var rect = new SKRect(p.X - thumbnailSize / 2f, p.Y - thumbnailSize / 2f, p.X + thumbnailSize / 2f, p.Y + thumbnailSize / 2f);
                canvas.DrawBitmap(bitmap, rect);
                using var frame = new SKPaint { Color = Palette[labels[i] % Palette.Length], Style = SKPaintStyle.Stroke, StrokeWidth = 1.5f };
                canvas.DrawRect(rect, frame);
            }
        }
        for (int c = 0; c < classNames.Count; c++)
        {
            using var swatch = new SKPaint { Color = Palette[c % Palette.Length], IsAntialias = true };
            canvas.DrawCircle(size + 10, top + 14 + c * 18, 5, swatch);
            using var text = Fonts.Paint(12, SKColors.Black);
            canvas.DrawText(classNames[c], size + 20, top + 18 + c * 18, text);
        }
        using var snapshot = surface.Snapshot();
        using var png = snapshot.Encode(SKEncodedImageFormat.Png, 100);
        return new Figure(title, png.ToArray(), size + legendWidth, size + top);
    }

    /// <summary>An interactive map: one trace per class, hovering a point shows its class and index.</summary>
    public static PlotlyChart Interactive(float[,] points, IReadOnlyList<int> labels, IReadOnlyList<string> classNames, string title)
    {
        var traces = Enumerable.Range(0, classNames.Count).Select(c =>
        {
            var members = Enumerable.Range(0, labels.Count).Where(i => labels[i] == c).ToList();
            return new Scatter
            {
                name = classNames[c],
                mode = "markers",
                x = members.Select(i => points[i, 0]).ToArray(),
                y = members.Select(i => points[i, 1]).ToArray(),
                text = members.Select(i => $"{classNames[c]} (image {i})").ToArray(),
                hoverinfo = "text",
                marker = new Marker { size = 4 },
            };
        });
        var chart = Chart.Plot(traces);
        chart.WithTitle(title);
        chart.WithWidth(760);
        chart.WithHeight(640);
        return chart;
    }
}
