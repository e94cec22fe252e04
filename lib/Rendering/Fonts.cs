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

    /// <summary>
    /// The text as lines no wider than <paramref name="width"/> pixels, nothing cut: its own lines ('\n'), each broken
    /// at spaces, and a word still too wide broken after a '.', '_', '-', '/' or ',' where possible (a layer name such as
    /// "layer3.1.relu2" becomes "layer3.1." and "relu2"), otherwise between characters.
    /// </summary>
    public static List<string> Wrap(string text, SKPaint paint, float width)
    {
        var lines = new List<string>();
        foreach (var given in text.Split('\n'))
        {
            var line = "";
            foreach (var word in given.Split(' ').SelectMany(w => BreakWord(w, paint, width)))
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
        }
        return lines;
    }

    /// <summary>
    /// The largest text size from <paramref name="largest"/> down to <paramref name="smallest"/> (in steps of one pixel)
    /// at which every word of <paramref name="texts"/> fits in <paramref name="width"/> pixels, so that one size serves
    /// a whole figure and words need breaking only when even the smallest size is too large.
    /// </summary>
    public static float SizeToFit(IEnumerable<string> texts, float width, float largest, float smallest)
    {
        var words = texts.SelectMany(t => t.Split(' ', '\n')).Distinct().ToList();
        for (float size = largest; size > smallest; size--)
        {
            using var paint = Paint(size, SKColors.Black);
            if (words.All(w => paint.MeasureText(w) <= width))
                return size;
        }
        return smallest;
    }

    /// <summary>A word cut into pieces no wider than <paramref name="width"/>, after punctuation where possible.</summary>
    static IEnumerable<string> BreakWord(string word, SKPaint paint, float width)
    {
        while (word.Length > 1 && paint.MeasureText(word) > width)
        {
            int fits = 1;
            while (fits < word.Length && paint.MeasureText(word[..(fits + 1)]) <= width)
                fits++;
            int afterPunctuation = word[..fits].LastIndexOfAny(['.', '_', '-', '/', ',']) + 1;
            int cut = afterPunctuation > 0 && afterPunctuation < word.Length ? afterPunctuation : fits;
            yield return word[..cut];
            word = word[cut..];
        }
        yield return word;
    }
}
