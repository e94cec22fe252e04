using XPlot.Plotly;

namespace WhatNetworksLearn.Notebook;

/// <summary>Interactive charts with XPlot.Plotly, shown inline.</summary>
public static class Charts
{
    /// <summary>
    /// The chart's inline HTML, preceded by a loader that brings plotly.js once per page when it is not there yet.
    /// (XPlot's own notebook package, which did this, cannot be restored; the kit registers this instead.)
    /// </summary>
    public static string InlineHtml(PlotlyChart chart)
    {
        var inline = chart.GetInlineHtml();
        var start = inline.IndexOf("<script", StringComparison.Ordinal);
        var end = inline.LastIndexOf("</script>", StringComparison.Ordinal);
        if (start < 0 || end < 0)
            return inline;
        var div = inline[..start];
        var body = inline.Substring(start, end - start).Split('>', 2)[1];
        return div + "<script>(function(){" +
               "var draw=function(){" + body + "};" +
               "if(window.Plotly){draw();return;}" +
               "var s=document.createElement('script');s.src='https://cdn.plot.ly/plotly-2.35.2.min.js';s.onload=draw;document.head.appendChild(s);" +
               "})();</script>";
    }
}
