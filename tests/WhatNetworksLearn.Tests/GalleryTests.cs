using System.Text.Json;
using System.Text.RegularExpressions;
using NotebookRunner;
using WhatNetworksLearn.Rendering;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

/// <summary>
/// The teachers' gallery (artifacts/index.html) opened in headless Chromium, as a browser would show it: every
/// figure must load. Chromium comes from Debian's `chromium` package, which environment/test.sh installs.
/// </summary>
public sealed partial class GalleryTests : IDisposable
{
    readonly string artifacts = Directory.CreateTempSubdirectory("gallery-").FullName;

    [GeneratedRegex("<body[^>]*data-images=\"(?<images>\\d+)\"[^>]*data-loaded=\"(?<loaded>\\d+)\"[^>]*data-failed=\"(?<failed>\\d+)\"")]
    private static partial Regex ImageCounts();

    [Fact]
    public void Every_figure_of_every_notebook_loads_in_a_browser()
    {
        Record("01-first", "# 01 · First", ("a-grey-ramp", "A grey ramp"), ("a-red-square", "A red <square> & more"));
        Record("02-second", "# 02 · Second", ("noise", "Noise"));

        Gallery.Write(artifacts);

        var (images, loaded, failed) = OpenInChromium();
        Assert.Equal((3, 3, 0), (images, loaded, failed));
        var page = File.ReadAllText(Path.Combine(artifacts, Gallery.PageFile));
        Assert.Contains("A red &lt;square&gt; &amp; more", page);
        Assert.Contains("Second</a>", page);
        Assert.Contains("| all | 2 of 2 ok |", File.ReadAllText(Path.Combine(artifacts, "summary.md")));
    }

    [Fact]
    public void A_figure_file_that_is_missing_is_counted_as_failed()
    {
        Record("01-first", "# 01 · First", ("present", "Present"), ("gone", "Gone"));
        File.Delete(Path.Combine(artifacts, "01-first", "gone.png"));

        Gallery.Write(artifacts);

        Assert.Equal((2, 1, 1), OpenInChromium());
    }

    [GeneratedRegex("<body[^>]*data-charts=\"(?<charts>\\d+)\"[^>]*data-charts-drawn=\"(?<drawn>\\d+)\"")]
    private static partial Regex ChartCounts();

    [Fact]
    public void An_interactive_chart_draws_in_the_gallery_offline()
    {
        Record("04-charts", "# 04 · Charts", ("a-grey-ramp", "A grey ramp"));
        var folder = Path.Combine(artifacts, "04-charts");
        var chart = NotebookRun.SaveChart(folder, ChartTests.ChartHtml());
        Assert.NotNull(chart);
        var run = JsonSerializer.Deserialize<NotebookResult>(File.ReadAllText(Path.Combine(folder, NotebookRun.RunFile)))!;
        File.WriteAllText(Path.Combine(folder, NotebookRun.RunFile), JsonSerializer.Serialize(run with { Charts = [chart] }));

        Gallery.Write(artifacts);

        var (dom, log) = HeadlessChromium.DumpDom(Path.Combine(artifacts, Gallery.PageFile), Path.Combine(artifacts, ".chromium"));
        var counts = ChartCounts().Match(dom);
        Assert.True(counts.Success, $"The page's script did not report its charts. Chromium said:\n{log}");
        Assert.Equal(("1", "1"), (counts.Groups["charts"].Value, counts.Groups["drawn"].Value));
        Assert.Equal("A map of seven points", chart.Title);
        Assert.Contains("A map of seven points · interactive chart", dom);
    }

    /// <summary>Writes a notebook's artifacts as the runner does: one PNG per figure and run.json.</summary>
    void Record(string name, string heading, params (string File, string Title)[] figures)
    {
        var folder = Directory.CreateDirectory(Path.Combine(artifacts, name)).FullName;
        foreach (var (file, title) in figures)
        {
            using var ramp = linspace(0, 1, 32).expand(3, 16, 32).contiguous();
            Plot.Image(ramp, title).Save(Path.Combine(folder, file + ".png"));
        }
        var run = new NotebookResult(name, heading.TrimStart('#', ' '), true, 1.5, 200_000_000,
            figures.Select(f => new SavedFigure(f.File, f.Title)).ToList(), [], []);
        File.WriteAllText(Path.Combine(folder, NotebookRun.RunFile), JsonSerializer.Serialize(run));
    }

    /// <summary>Loads the page in headless Chromium, offline, and reads the image counts its script wrote on the body.</summary>
    (int Images, int Loaded, int Failed) OpenInChromium()
    {
        var (dom, log) = HeadlessChromium.DumpDom(Path.Combine(artifacts, Gallery.PageFile), Path.Combine(artifacts, ".chromium"));
        var counts = ImageCounts().Match(dom);
        Assert.True(counts.Success, $"The page's script did not report its images. Chromium said:\n{log}");
        return (int.Parse(counts.Groups["images"].Value), int.Parse(counts.Groups["loaded"].Value), int.Parse(counts.Groups["failed"].Value));
    }

    public void Dispose() => Directory.Delete(artifacts, recursive: true);
}
