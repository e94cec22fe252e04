using SkiaSharp;

namespace WhatNetworksLearn.Rendering;

/// <summary>
/// The one typeface every figure uses, DejaVu Sans, embedded in the library so that text renders the same
/// on every machine, including those without fonts installed (see data/fonts/).
/// </summary>
static class Fonts
{
    static readonly Lazy<SKTypeface> Typeface = new(() =>
    {
        using var stream = typeof(Fonts).Assembly.GetManifestResourceStream("WhatNetworksLearn.DejaVuSans.ttf")
            ?? throw new InvalidOperationException("The embedded font is missing from the library build.");
        return SKTypeface.FromStream(stream) ?? throw new InvalidOperationException("The embedded font could not be read.");
    });

    public static SKPaint Paint(float size, SKColor color) =>
        new() { Typeface = Typeface.Value, TextSize = size, Color = color, IsAntialias = true };

    /// <summary>The text, shortened with an ellipsis if it is wider than <paramref name="width"/> pixels.</summary>
    public static string Fit(string text, SKPaint paint, float width)
    {
        if (paint.MeasureText(text) <= width)
            return text;
        while (text.Length > 1 && paint.MeasureText(text + "…") > width)
            text = text[..^1];
        return text + "…";
    }

    /// <summary>The text broken at spaces into lines no wider than <paramref name="width"/> pixels (a single long word is shortened).</summary>
    public static List<string> Wrap(string text, SKPaint paint, float width)
    {
        var lines = new List<string>();
        var line = "";
        foreach (var word in text.Split(' '))
        {
            var candidate = line.Length == 0 ? word : line + " " + word;
            if (paint.MeasureText(candidate) <= width || line.Length == 0)
                line = candidate;
            else
            {
                lines.Add(line);
                line = word;
            }
        }
        lines.Add(line);
        return lines.Select(l => Fit(l, paint, width)).ToList();
    }
}
