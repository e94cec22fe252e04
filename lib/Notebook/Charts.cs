using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using WhatNetworksLearn.Rendering;
using XPlot.Plotly;

namespace WhatNetworksLearn.Notebook;

/// <summary>Interactive charts with XPlot.Plotly, shown inline; they draw with no network (see data/plotly/).</summary>
public static partial class Charts
{
    /// <summary>The attribute that marks a chart's HTML; its value names the chart (a slug of its title), as figures' data-figure does.</summary>
    public const string MarkerAttribute = "data-chart";

    static readonly Lazy<string> PlotlyJs = new(() =>
    {
        using var stream = typeof(Charts).Assembly.GetManifestResourceStream("WhatNetworksLearn.plotly-basic.min.js")
            ?? throw new InvalidOperationException("plotly.js is missing from the library's resources; rebuild lib.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    [GeneratedRegex(@"var layout = (?<layout>\{.*?\});\s*Plotly\.newPlot", RegexOptions.Singleline)]
    private static partial Regex LayoutPattern();

    /// <summary>
    /// The chart's inline HTML: XPlot's chart, preceded by plotly.js itself (1 MB), which runs only where the page has no
    /// Plotly yet. Each chart carries the library so that it draws wherever its output is shown, offline: a notebook
    /// reopened in VS Code or JupyterLab, or the chart's own page in the gallery. (XPlot's notebook add-on, which loaded
    /// plotly.js from a CDN, cannot be restored; the kit registers this instead.)
    /// </summary>
    public static string InlineHtml(PlotlyChart chart)
    {
        var inline = chart.GetInlineHtml();
        var start = inline.IndexOf("<script", StringComparison.Ordinal);
        var end = inline.LastIndexOf("</script>", StringComparison.Ordinal);
        if (start < 0 || end < 0)
            throw new InvalidOperationException("XPlot.Plotly wrote a chart without its script; the kit expects XPlot.Plotly 4.1.0.");
        var div = inline[..start].Trim();
        var draw = inline.Substring(start, end - start).Split('>', 2)[1];
        var title = TitleOf(draw);
        // define, exports and module are hidden from the library so that it sets window.Plotly even on a page that
        // carries an AMD or CommonJS loader (as notebook front-ends may) instead of registering itself as a module there.
        return $"<div {MarkerAttribute}=\"{WebUtility.HtmlEncode(Figure.MakeSlug(title))}\" data-title=\"{WebUtility.HtmlEncode(title)}\" " +
               $"data-width=\"{chart.Width}\" data-height=\"{chart.Height}\">{div}<script>(function(){{" +
               "if(!window.Plotly){(function(define,exports,module){\n" + PlotlyJs.Value + "\n}).call(window);}\n" +
               draw + "})();</script></div>";
    }

    /// <summary>The chart's title from the layout XPlot wrote ("chart" when it has none).</summary>
    static string TitleOf(string script)
    {
        var match = LayoutPattern().Match(script);
        var title = match.Success ? JsonNode.Parse(match.Groups["layout"].Value)?["title"] : null;
        var text = title switch
        {
            JsonValue value => value.GetValue<string>(),
            JsonObject node => node["text"]?.GetValue<string>(),
            _ => null,
        };
        return string.IsNullOrWhiteSpace(text) ? "chart" : text;
    }
}
