using SkiaSharp;

namespace WhatNetworksLearn.Rendering;

/// <summary>One line of a chart: its name (for the legend) and its points.</summary>
public sealed record Series(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y);

/// <summary>A static line chart (axes, ticks, legend) drawn as a figure, for training curves and sweeps.</summary>
public static class LineChart
{
    static readonly SKColor[] Palette =
    [
        new(0x1f, 0x77, 0xb4), new(0xd6, 0x27, 0x28), new(0x2c, 0xa0, 0x2c), new(0xff, 0x7f, 0x0e),
        new(0x94, 0x67, 0xbd), new(0x8c, 0x56, 0x4b), new(0xe3, 0x77, 0xc2), new(0x7f, 0x7f, 0x7f),
    ];

    public static Figure Draw(IReadOnlyList<Series> series, string title, string xLabel, string yLabel, int width = 560, int height = 340)
    {
        if (series.Count == 0 || series.Any(s => s.X.Count != s.Y.Count || s.X.Count == 0))
            throw new ArgumentException("Every series needs as many x as y values, and at least one point.", nameof(series));
        const int left = 64, right = 16, top = 34, bottom = 48;
        double xMin = series.Min(s => s.X.Min()), xMax = series.Max(s => s.X.Max());
        double yMin = series.Min(s => s.Y.Min()), yMax = series.Max(s => s.Y.Max());
        if (xMax == xMin) xMax = xMin + 1;
        if (yMax == yMin) { yMax += 0.5; yMin -= 0.5; }
        double yPad = (yMax - yMin) * 0.05;
        yMin -= yPad; yMax += yPad;
        float plotWidth = width - left - right, plotHeight = height - top - bottom;
        SKPoint Map(double x, double y) => new(left + (float)((x - xMin) / (xMax - xMin)) * plotWidth, top + (float)((yMax - y) / (yMax - yMin)) * plotHeight);

        using var surface = SKSurface.Create(new SKImageInfo(width, height));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var text = Fonts.Paint(11, new SKColor(0x33, 0x33, 0x33));
        using var titlePaint = Fonts.Paint(15, SKColors.Black);
        using var axis = new SKPaint { Color = new SKColor(0x88, 0x88, 0x88), StrokeWidth = 1, IsAntialias = true };
        using var grid = new SKPaint { Color = new SKColor(0xee, 0xee, 0xee), StrokeWidth = 1 };
        canvas.DrawText(title, 8, 20, titlePaint);

        foreach (var (value, label) in Ticks(yMin, yMax))
        {
            var p = Map(xMin, value);
            canvas.DrawLine(left, p.Y, left + plotWidth, p.Y, grid);
            canvas.DrawText(label, left - 6 - text.MeasureText(label), p.Y + 4, text);
        }
        foreach (var (value, label) in Ticks(xMin, xMax))
        {
            var p = Map(value, yMin);
            canvas.DrawLine(p.X, top, p.X, top + plotHeight, grid);
            canvas.DrawText(label, p.X - text.MeasureText(label) / 2, top + plotHeight + 16, text);
        }
        canvas.DrawLine(left, top, left, top + plotHeight, axis);
        canvas.DrawLine(left, top + plotHeight, left + plotWidth, top + plotHeight, axis);
        canvas.DrawText(xLabel, left + plotWidth / 2 - text.MeasureText(xLabel) / 2, height - 10, text);
        canvas.Save();
        canvas.RotateDegrees(-90, 14, top + plotHeight / 2);
        canvas.DrawText(yLabel, 14 - text.MeasureText(yLabel) / 2, top + plotHeight / 2, text);
        canvas.Restore();

        for (int i = 0; i < series.Count; i++)
        {
            var colour = Palette[i % Palette.Length];
            using var line = new SKPaint { Color = colour, StrokeWidth = 2, IsAntialias = true, Style = SKPaintStyle.Stroke };
            using var path = new SKPath();
            path.MoveTo(Map(series[i].X[0], series[i].Y[0]));
            for (int k = 1; k < series[i].X.Count; k++)
                path.LineTo(Map(series[i].X[k], series[i].Y[k]));
            canvas.DrawPath(path, line);
            using var dot = new SKPaint { Color = colour, IsAntialias = true };
            for (int k = 0; k < series[i].X.Count; k++)
                canvas.DrawCircle(Map(series[i].X[k], series[i].Y[k]), 2.5f, dot);
            using var legend = Fonts.Paint(11, colour);
            canvas.DrawText("— " + series[i].Name, left + 10, top + 14 + i * 14, legend);
        }
        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        return new Figure(title, png.ToArray(), width, height);
    }

    /// <summary>
    /// About five round tick values between <paramref name="min"/> and <paramref name="max"/>. Each is a whole multiple
    /// of the step, not a running sum: the sum's rounding error would print zero as "-0.0" or "-0".
    /// </summary>
    internal static IEnumerable<(double Value, string Label)> Ticks(double min, double max)
    {
        double raw = (max - min) / 5, magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = new[] { 1, 2, 2.5, 5, 10 }.Select(m => m * magnitude).First(s => s >= raw);
        int decimals = Math.Max(0, -(int)Math.Floor(Math.Log10(step) + 1e-9) + (step / magnitude == 2.5 ? 1 : 0));
        for (long k = (long)Math.Ceiling(min / step - 1e-9); k * step <= max + step * 1e-9; k++)
            yield return (k * step, (k * step).ToString("F" + decimals, System.Globalization.CultureInfo.InvariantCulture));
    }
}
