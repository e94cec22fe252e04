using System.Net;
using Microsoft.DotNet.Interactive.Formatting;
using TorchSharp;
using WhatNetworksLearn.Platform;
using WhatNetworksLearn.Rendering;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Notebook;

/// <summary>
/// Teaches the notebook kernel to show the kit's values: figures and image tensors as inline PNG,
/// Plotly charts as interactive HTML, findings as a table. HTML with a data URI renders in VS Code and Jupyter.
/// </summary>
public static class Formatters
{
    const string Html = "text/html";

    public static void Register()
    {
        Formatter.Register<Figure>((figure, writer) => writer.Write(figure.ToHtml()), Html);
        Formatter.Register<Tensor>((tensor, writer) => writer.Write(TensorHtml(tensor)), Html);
        Formatter.Register<XPlot.Plotly.PlotlyChart>((chart, writer) => writer.Write(Charts.InlineHtml(chart)), Html);
        Formatter.Register<IEnumerable<Finding>>((findings, writer) => writer.Write(FindingsHtml(findings)), Html);
        Formatter.Register<ProgressDisplay.State>((state, writer) => writer.Write(state.ToHtml()), Html);
        Formatter.Register<ExerciseResult>((result, writer) => writer.Write(result.ToHtml()), Html);
        Formatter.Register<Note>((note, writer) => writer.Write(note.ToHtml()), Html);
        foreach (var type in new[] { typeof(Figure), typeof(Tensor), typeof(XPlot.Plotly.PlotlyChart), typeof(ProgressDisplay.State), typeof(ExerciseResult), typeof(Note) })
            Formatter.SetPreferredMimeTypesFor(type, Html);
    }

    /// <summary>
    /// An image-shaped tensor (H x W, C x H x W or N x C x H x W with C = 1 or 3, sides of 8 or more) shows as a
    /// picture, rescaled to [0,1] if its values lie outside; any other tensor shows its values as text.
    /// </summary>
    public static string TensorHtml(Tensor tensor)
    {
        if (!LooksLikeImages(tensor))
            return $"<pre>{WebUtility.HtmlEncode(tensor.ToString(TorchSharp.TensorStringStyle.Numpy))}</pre>";
        using var scope = NewDisposeScope();
        var images = tensor.detach().cpu().to_type(ScalarType.Float32);
        if (images.dim() == 2)
            images = images.unsqueeze(0);
        if (images.dim() == 3)
            images = images.unsqueeze(0);
        bool inRange = images.min().item<float>() >= 0 && images.max().item<float>() <= 1;
        if (!inRange)
            images = Pixels.Normalize(images);
        var shape = string.Join(" x ", tensor.shape);
        var note = inRange ? shape : shape + ", values rescaled to [0,1] for display";
        var tiles = Enumerable.Range(0, (int)images.shape[0]).Select(i => new Tile(images[i]));
        return Plot.Grid(tiles, note, columns: 8, tileSize: images.shape[0] == 1 ? 160 : 64).ToHtml();
    }

    static bool LooksLikeImages(Tensor t)
    {
        if (!t.is_floating_point() || t.numel() == 0)
            return false;
        var s = t.shape;
        return t.dim() switch
        {
            2 => s[0] >= 8 && s[1] >= 8,
            3 => s[0] is 1 or 3 && s[1] >= 8 && s[2] >= 8,
            4 => s[0] <= 64 && s[1] is 1 or 3 && s[2] >= 8 && s[3] >= 8,
            _ => false,
        };
    }

    static string FindingsHtml(IEnumerable<Finding> findings)
    {
        var rows = findings.Select(f =>
            $"<tr><td>{WebUtility.HtmlEncode(f.Item)}</td><td>{(f.Problem ? "⚠ " : "")}{WebUtility.HtmlEncode(f.Value)}" +
            (f.Advice is null ? "" : $"<br/><i>{WebUtility.HtmlEncode(f.Advice)}</i>") + "</td></tr>");
        return "<table>" + string.Concat(rows) + "</table>";
    }
}
