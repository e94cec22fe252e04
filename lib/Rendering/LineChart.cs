using SkiaSharp;

namespace WhatNetworksLearn.Rendering;

/// <summary>
/// One line of a chart: its name (for the legend) and its points. Series with the same <paramref name="Group"/> share
/// one colour (say, the mean and the worst case of one run); <paramref name="Dashed"/> draws the line in dashes, to tell
/// the members of a group apart. Without a group, every series has its own colour.
/// </summary>
public sealed record Series(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y, string? Group = null, bool Dashed = false);

/// <summary>A static line chart (axes, ticks, legend) drawn as a figure, for training curves and sweeps.</summary>
public static class LineChart
{
    static readonly SKColor[] Palette =
    [
        new(0x1f, 0x77, 0xb4), new(0xd6, 0x27, 0x28), new(0x2c, 0xa0, 0x2c), new(0xff, 0x7f, 0x0e),
        new(0x94, 0x67, 0xbd), new(0x8c, 0x56, 0x4b), new(0xe3, 0x77, 0xc2), new(0x7f, 0x7f, 0x7f),
    ];

    /// <summary>
    /// Draws the series. The y axis spans the series' values unless <paramref name="yRange"/> fixes it: a chart of
    /// shares that differ by a point or two should start at 0, or it shows a small difference as a large one.
    /// </summary>
    public static Figure Draw(IReadOnlyList<Series> series, string title, string xLabel, string yLabel, int width = 560, int height = 340,
        (double Min, double Max)? yRange = null)
    {
        if (series.Count == 0 || series.Any(s => s.X.Count != s.Y.Count || s.X.Count == 0))
            throw new ArgumentException("Every series needs as many x as y values, and at least one point.", nameof(series));
        const int left = 64, right = 16, top = 34, bottom = 48;
        double xMin = series.Min(s => s.X.Min()), xMax = series.Max(s => s.X.Max());
        double yMin = series.Min(s => s.Y.Min()), yMax = series.Max(s => s.Y.Max());
        if (yRange is { } range)
        {
            if (!(range.Max > range.Min) || yMin < range.Min || yMax > range.Max)
                throw new ArgumentOutOfRangeException(nameof(yRange), $"The y range must be increasing and hold every value ({yMin:G4} to {yMax:G4}); got {range.Min:G4} to {range.Max:G4}.");
            (yMin, yMax) = range;
        }
        if (xMax == xMin) xMax = xMin + 1;
        if (yMax == yMin) { yMax += 0.5; yMin -= 0.5; }
        if (yRange is null)
        {
            double yPad = (yMax - yMin) * 0.05;
            yMin -= yPad; yMax += yPad;
        }

        using var text = Fonts.Paint(11, new SKColor(0x33, 0x33, 0x33));
        var legendSize = new SKSize(series.Max(s => text.MeasureText(LegendEntry(s))) + 2 * LegendPadding, series.Count * LegendLine + 2 * LegendPadding);
        var plot = new SKRect(left, top, width - right, height - bottom);
        SKPoint Map(double x, double y) => new(plot.Left + (float)((x - xMin) / (xMax - xMin)) * plot.Width, plot.Top + (float)((yMax - y) / (yMax - yMin)) * plot.Height);
        IReadOnlyList<IReadOnlyList<SKPoint>> Lines() => series.Select(s => (IReadOnlyList<SKPoint>)s.X.Select((x, k) => Map(x, s.Y[k])).ToList()).ToList();
        // The legend goes into a corner of the plot that no line passes through; if every corner is taken, the plot
        // makes room for it on its right, outside the curves.
        var legend = FreeCorner(plot, legendSize, Lines()) ?? SKRect.Empty;
        if (legend.IsEmpty)
        {
            plot.Right -= legendSize.Width + LegendGap;
            legend = SKRect.Create(plot.Right + LegendGap, plot.Top, legendSize.Width, legendSize.Height);
        }
        var lines = Lines();

        using var surface = SKSurface.Create(new SKImageInfo(width, height));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var titlePaint = Fonts.Paint(15, SKColors.Black);
        using var axis = new SKPaint { Color = new SKColor(0x88, 0x88, 0x88), StrokeWidth = 1, IsAntialias = true };
        using var grid = new SKPaint { Color = new SKColor(0xee, 0xee, 0xee), StrokeWidth = 1 };
        canvas.DrawText(title, 8, 20, titlePaint);

        foreach (var (value, label) in Ticks(yMin, yMax))
        {
            var p = Map(xMin, value);
            canvas.DrawLine(plot.Left, p.Y, plot.Right, p.Y, grid);
            canvas.DrawText(label, plot.Left - 6 - text.MeasureText(label), p.Y + 4, text);
        }
        foreach (var (value, label) in Ticks(xMin, xMax))
        {
            var p = Map(value, yMin);
            canvas.DrawLine(p.X, plot.Top, p.X, plot.Bottom, grid);
            canvas.DrawText(label, p.X - text.MeasureText(label) / 2, plot.Bottom + 16, text);
        }
        canvas.DrawLine(plot.Left, plot.Top, plot.Left, plot.Bottom, axis);
        canvas.DrawLine(plot.Left, plot.Bottom, plot.Right, plot.Bottom, axis);
        canvas.DrawText(xLabel, plot.MidX - text.MeasureText(xLabel) / 2, height - 10, text);
        canvas.Save();
        canvas.RotateDegrees(-90, 14, plot.MidY);
        canvas.DrawText(yLabel, 14 - text.MeasureText(yLabel) / 2, plot.MidY, text);
        canvas.Restore();

        using var legendBackground = new SKPaint { Color = SKColors.White };
        canvas.DrawRect(legend, legendBackground);
        var colours = ColourIndices(series);
        for (int i = 0; i < series.Count; i++)
        {
            var colour = Palette[colours[i] % Palette.Length];
            using var dashes = series[i].Dashed ? SKPathEffect.CreateDash([DashLength, DashLength], 0) : null;
            using var line = new SKPaint { Color = colour, StrokeWidth = 2, IsAntialias = true, Style = SKPaintStyle.Stroke, PathEffect = dashes };
            using var path = new SKPath();
            path.MoveTo(lines[i][0]);
            foreach (var point in lines[i].Skip(1))
                path.LineTo(point);
            canvas.DrawPath(path, line);
            using var dot = new SKPaint { Color = colour, IsAntialias = true };
            foreach (var point in series[i].Dashed ? [] : lines[i])   // dots on a dashed line of many points would fill its gaps
                canvas.DrawCircle(point, DotRadius, dot);
            using var entry = Fonts.Paint(11, colour);
            canvas.DrawText(LegendEntry(series[i]), legend.Left + LegendPadding, legend.Top + LegendPadding + 10 + i * LegendLine, entry);
        }
        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        return new Figure(title, png.ToArray(), width, height);
    }

    const float DotRadius = 2.5f, LegendLine = 14, LegendPadding = 3, LegendGap = 12, DashLength = 6;

    static string LegendEntry(Series series) => (series.Dashed ? "- - " : "— ") + series.Name;

    /// <summary>
    /// The palette index of each series: series of one <see cref="Series.Group"/> share the index of the group's first
    /// appearance; a series without a group gets one of its own. Indices count up in order, so colours follow the legend.
    /// </summary>
    internal static int[] ColourIndices(IReadOnlyList<Series> series)
    {
        var groups = new Dictionary<string, int>();
        int next = 0;
        return series.Select(s => s.Group is null ? next++ : groups.TryGetValue(s.Group, out var index) ? index : groups[s.Group] = next++).ToArray();
    }

    /// <summary>
    /// The first corner of <paramref name="plot"/> (top left, top right, bottom right, bottom left) where a legend of
    /// <paramref name="size"/> touches none of the <paramref name="lines"/> (polylines in pixels, dots included),
    /// or null when every corner is taken.
    /// </summary>
    internal static SKRect? FreeCorner(SKRect plot, SKSize size, IReadOnlyList<IReadOnlyList<SKPoint>> lines)
    {
        const float inset = 6, clearance = DotRadius + 2;
        float leftX = plot.Left + inset, rightX = plot.Right - inset - size.Width;
        float topY = plot.Top + inset, bottomY = plot.Bottom - inset - size.Height;
        foreach (var (x, y) in new[] { (leftX, topY), (rightX, topY), (rightX, bottomY), (leftX, bottomY) })
        {
            var corner = SKRect.Create(x, y, size.Width, size.Height);
            var keepOut = SKRect.Inflate(corner, clearance, clearance);
            if (!lines.Any(line => Touches(line, keepOut)))
                return corner;
        }
        return null;
    }

    /// <summary>Whether a polyline (one point: a dot) passes through the box.</summary>
    static bool Touches(IReadOnlyList<SKPoint> line, SKRect box) =>
        line.Count == 1 ? box.Contains(line[0]) : Enumerable.Range(1, line.Count - 1).Any(k => SegmentTouches(line[k - 1], line[k], box));

    /// <summary>Liang–Barsky clipping: whether the segment from <paramref name="a"/> to <paramref name="b"/> has a point inside the box.</summary>
    static bool SegmentTouches(SKPoint a, SKPoint b, SKRect box)
    {
        float dx = b.X - a.X, dy = b.Y - a.Y, enter = 0, leave = 1;
        foreach (var (p, q) in new[] { (-dx, a.X - box.Left), (dx, box.Right - a.X), (-dy, a.Y - box.Top), (dy, box.Bottom - a.Y) })
        {
            if (p == 0)
            {
                if (q < 0)
                    return false;   // parallel to this edge and outside it
                continue;
            }
            float t = q / p;
            if (p < 0) enter = Math.Max(enter, t);
            else leave = Math.Min(leave, t);
            if (enter > leave)
                return false;
        }
        return true;
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
