using WhatNetworksLearn.Attribution;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Rendering;

/// <summary>The figures of a cascading randomisation (<see cref="CascadingRandomization"/>, notebook 18).</summary>
public static class SanityCheckFigures
{
    /// <summary>
    /// One row per method: the image, then the method's map at every stage, left (trained) to right (all listed layers
    /// random), each captioned with its rank correlation with the first. Each map is drawn from 0 (black) to its own
    /// largest value, so a map that is 0 everywhere stays black (and says so).
    /// </summary>
    public static Figure Maps(SanityCheckResult result, int image, string title, int tileSize = 84)
    {
        if (image < 0 || image >= result.Images.shape[0])
            throw new ArgumentOutOfRangeException(nameof(image), $"There are images 0 to {result.Images.shape[0] - 1}; image {image} does not exist.");
        using var scope = NewDisposeScope();
        var tiles = new List<Tile>();
        for (int m = 0; m < result.Methods.Count; m++)
        {
            var name = result.Methods[m];
            tiles.Add(new Tile(result.Images[image], name.Length > 12 ? name.Replace(' ', '\n') : name));   // long names on two lines, under narrow tiles
            for (int s = 0; s <= result.Stages.Count; s++)
            {
                var map = result.Maps[m, s, image];
                float largest = map.max().item<float>();
                tiles.Add(new Tile(Plot.HeatMap(map / Math.Max(largest, float.Epsilon), Colormap.Hot, normalize: false),
                    $"{StageCaption(result, s)}\n{(largest == 0 ? "all 0: no order" : $"ρ = {result.Correlations[m, s, image].item<float>():F2}")}"));
            }
        }
        return Plot.Grid(tiles, title, columns: result.Stages.Count + 2, tileSize: tileSize);
    }

    /// <summary>One line per method: the mean rank correlation with the trained model's map against the number of layers randomised.</summary>
    public static Figure CorrelationChart(SanityCheckResult result, string title, int width = 680, int height = 340)
    {
        var x = Enumerable.Range(0, result.Stages.Count + 1).Select(s => (double)s).ToList();
        var series = result.Methods.Select((name, m) => new Series(name, x, x.Select(s => result.MeanCorrelation(m, (int)s)).ToList())).ToList();
        return LineChart.Draw(series, title, $"layers randomised from the top ({string.Join(", ", result.Stages)})", "rank correlation with trained", width, height);
    }

    /// <summary>A short name for the state of the network at a stage.</summary>
    static string StageCaption(SanityCheckResult result, int stage) =>
        stage == 0 ? "trained" : stage == 1 ? $"random {result.Stages[0]}" : $"… to {result.Stages[stage - 1]}";
}
