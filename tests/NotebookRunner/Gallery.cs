using System.Globalization;
using System.Net;
using System.Text;

namespace NotebookRunner;

/// <summary>
/// The pages made from the recorded runs in artifacts/: summary.md (a table) and index.html, the gallery a teacher
/// skims before class — every notebook's figures with their captions, run time and peak memory, and its interactive
/// charts, each in a frame showing its own page (which carries plotly.js, so it draws offline).
/// </summary>
public static class Gallery
{
    public const string PageFile = "index.html";

    /// <summary>Writes summary.md and index.html for every notebook recorded in the folder.</summary>
    public static void Write(string artifacts)
    {
        var runs = NotebookRun.Recorded(artifacts);
        Directory.CreateDirectory(artifacts);
        File.WriteAllText(Path.Combine(artifacts, "summary.md"), Summary(runs));
        var explorer = File.Exists(Path.Combine(artifacts, ExplorerPage));
        File.WriteAllText(Path.Combine(artifacts, PageFile), Page(runs, DateTime.Now, explorer));
    }

    /// <summary>Where notebook 19 writes the unit explorer, relative to the artifacts; the gallery links to it when it is there.</summary>
    public const string ExplorerPage = "unit-explorer/index.html";

    static string Summary(IReadOnlyList<NotebookResult> runs)
    {
        var text = new StringBuilder("| notebook | result | seconds | peak memory (MB) | figures |\n|---|---|---:|---:|---|\n");
        foreach (var r in runs)
            text.AppendLine($"| {r.Name} | {(r.Succeeded ? "ok" : "failed")} | {r.Seconds:F1} | {Megabytes(r.PeakMemoryBytes)} | {string.Join(", ", r.FigureFiles)} |");
        text.AppendLine($"| all | {runs.Count(r => r.Succeeded)} of {runs.Count} ok | {runs.Sum(r => r.Seconds):F1} | {Megabytes(runs.Max(r => r.PeakMemoryBytes))} (largest) | |");
        return text.ToString();
    }

    /// <summary>
    /// The gallery page. Figures and charts are linked, not embedded, so the page stays small; a script counts the images
    /// that loaded and failed and the charts that drew (a chart draws an SVG in its frame) and writes the counts on the body
    /// (data-loaded, data-failed, data-charts-drawn), for people and for the test. Where a browser does not let a page look
    /// into a frame of a local file, the charts still show but are not counted.
    /// </summary>
    public static string Page(IReadOnlyList<NotebookResult> runs, DateTime written, bool explorer = false)
    {
        static string E(string text) => WebUtility.HtmlEncode(text);
        var page = new StringBuilder();
        page.Append($$"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>Understanding what networks learn: figures of the notebooks</title>
            <style>
              body { font-family: sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
              nav li { margin: 0.2em 0; } .failed { color: #b00; font-weight: bold; }
              section { border-top: 1px solid #ccc; margin-top: 2em; } .facts { color: #555; }
              figure { display: inline-block; vertical-align: top; margin: 0.5em 1em 1em 0; max-width: 100%; }
              figure img { max-width: 100%; height: auto; border: 1px solid #eee; } figcaption { font-size: 0.9em; color: #444; max-width: 60ch; }
              img.missing { outline: 3px solid #b00; min-width: 100px; min-height: 40px; }
              figure iframe { border: 1px solid #eee; max-width: 100%; }
            </style></head>
            <body data-images="{{runs.Sum(r => r.Figures.Count)}}" data-charts="{{runs.Sum(r => r.SavedCharts.Count)}}">
            <h1>Understanding what networks learn: the figures of every notebook</h1>
            <p class="facts">Written {{written.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)}} by the notebook runner.
            {{runs.Count(r => r.Succeeded)}} of {{runs.Count}} notebooks ran; {{runs.Sum(r => r.Seconds):F0}} s in all;
            largest kernel memory {{Megabytes(runs.Max(r => r.PeakMemoryBytes))}} MB. <span id="image-status"></span></p>
            <nav><ol>

            """);
        foreach (var r in runs)
            page.AppendLine($"<li><a href=\"#{E(r.Name)}\">{E(r.Title)}</a> — {r.Seconds:F0} s{(r.Succeeded ? "" : " <span class=\"failed\">failed</span>")}</li>");
        page.AppendLine("</ol></nav>");
        if (explorer)
            page.AppendLine($"<p>The unit explorer that notebook 19 wrote: <a href=\"{ExplorerPage}\">{ExplorerPage}</a> (opens offline).</p>");
        foreach (var r in runs)
        {
            page.AppendLine($"<section id=\"{E(r.Name)}\"><h2>{E(r.Title)}</h2>");
            page.AppendLine($"<p class=\"facts\"><code>notebooks/{E(r.Name)}.ipynb</code> · {r.Seconds:F1} s · peak memory {Megabytes(r.PeakMemoryBytes)} MB · " +
                $"<a href=\"{E(r.Name)}/{E(r.Name)}.ipynb\">executed notebook</a></p>");
            foreach (var error in r.Errors)
                page.AppendLine($"<p class=\"failed\">{E(error.Split('\n')[0])}</p>");
            foreach (var figure in r.Figures)
                page.AppendLine($"<figure><img src=\"{E(r.Name)}/{E(figure.File)}.png\" alt=\"{E(figure.Title)}\"><figcaption>{E(figure.Title)}</figcaption></figure>");
            foreach (var chart in r.SavedCharts)
                page.AppendLine($"<figure><iframe src=\"{E(r.Name)}/{E(chart.File)}.html\" title=\"{E(chart.Title)}\" width=\"{chart.Width + 20}\" height=\"{chart.Height + 20}\"></iframe>" +
                    $"<figcaption>{E(chart.Title)} · interactive chart</figcaption></figure>");
            page.AppendLine("</section>");
        }
        page.Append("""
            <script>
              // Counts images that loaded and those that did not, and charts that drew, once the page, its images and its frames have settled.
              window.addEventListener('load', () => {
                const images = [...document.querySelectorAll('figure img')];
                const failed = images.filter(img => !(img.complete && img.naturalWidth > 0));
                failed.forEach(img => img.classList.add('missing'));
                const drew = frame => { try { return !!frame.contentDocument.querySelector('svg.main-svg'); } catch (e) { return false; } };
                const charts = [...document.querySelectorAll('figure iframe')].filter(drew).length;
                document.body.dataset.loaded = images.length - failed.length;
                document.body.dataset.failed = failed.length;
                document.body.dataset.chartsDrawn = charts;
                document.getElementById('image-status').textContent =
                  (failed.length ? failed.length + ' figure(s) failed to load.' : 'All ' + images.length + ' figures loaded.') +
                  (charts ? ' ' + charts + ' interactive chart(s) drew.' : '');
              });
            </script>
            </body></html>

            """);
        return page.ToString();
    }

    static string Megabytes(long? bytes) => bytes is long b ? (b / 1e6).ToString("F0", CultureInfo.InvariantCulture) : "n/a";
}
