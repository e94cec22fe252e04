using System.Text.RegularExpressions;
using WhatNetworksLearn.Notebook;
using WhatNetworksLearn.Rendering;

namespace WhatNetworksLearn.Tests;

/// <summary>
/// The interactive charts (the t-SNE map of 04-embeddings) draw with no network: each carries plotly.js, shipped with the
/// kit in data/plotly/. Checked in headless Chromium offline: the chart's SVG appears with one marker per point.
/// </summary>
public sealed partial class ChartTests : IDisposable
{
    readonly string folder = Directory.CreateTempSubdirectory("charts-").FullName;

    [GeneratedRegex("<svg[^>]*class=\"main-svg\"")]
    private static partial Regex PlotlySvg();

    [GeneratedRegex("<path[^>]*class=\"point\"")]
    private static partial Regex Marker();

    /// <summary>Seven points in three classes, as the t-SNE notebook passes them.</summary>
    internal static string ChartHtml() => Charts.InlineHtml(ScatterPlot.Interactive(
        new float[,] { { 0, 0 }, { 1, 0 }, { 0, 1 }, { 5, 5 }, { 6, 5 }, { -4, 3 }, { -5, 2 } }, [0, 0, 0, 1, 1, 2, 2], ["shirt", "bag", "boot"],
        "A map of seven points"));

    [Theory]
    [InlineData("a plain page", "")]
    // Notebook front-ends may carry an AMD loader (RequireJS); plotly.js would then register itself as a module and leave Plotly undefined.
    [InlineData("a page with an AMD loader", "<script>window.define = function () {}; window.define.amd = {};</script>")]
    public void An_interactive_chart_draws_offline_with_one_marker_per_point_and_a_hover_label(string page, string head)
    {
        // Once the page has loaded, hover over the second point of the first class, as a mouse would.
        const string hover = "<script>window.addEventListener('load', () => Plotly.Fx.hover(document.querySelector('.js-plotly-plot'), [{ curveNumber: 0, pointNumber: 1 }]));</script>";
        var file = Path.Combine(folder, "chart.html");
        File.WriteAllText(file, $"<!DOCTYPE html><html><head><meta charset=\"utf-8\">{head}</head><body>{ChartHtml()}{hover}</body></html>");

        var (dom, log) = HeadlessChromium.DumpDom(file, Path.Combine(folder, ".chromium"));

        Assert.True(PlotlySvg().IsMatch(dom), $"The chart drew no SVG on {page}. Chromium said:\n{log}");
        Assert.Equal(7, Marker().Matches(dom).Count);
        var hoverLayer = dom.IndexOf("class=\"hoverlayer\"", StringComparison.Ordinal);
        Assert.True(hoverLayer >= 0, "The chart has no hover layer.");
        Assert.Contains(">shirt (image 1)</text>", dom[hoverLayer..dom.IndexOf("</svg>", hoverLayer, StringComparison.Ordinal)]);
    }

    [Fact]
    public void A_chart_names_itself_and_loads_nothing_from_the_network()
    {
        var html = ChartHtml();
        Assert.StartsWith($"<div {Charts.MarkerAttribute}=\"a-map-of-seven-points\" data-title=\"A map of seven points\" data-width=\"760\" data-height=\"640\">", html);
        Assert.Contains("plotly.js (basic - minified) v2.35.3", html);
        Assert.DoesNotMatch("src=['\"]?https?:", html);
        Assert.DoesNotContain("cdn.plot.ly/plotly", html);
    }

    public void Dispose() => Directory.Delete(folder, recursive: true);
}
