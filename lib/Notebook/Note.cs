using System.Net;
using Microsoft.DotNet.Interactive;

namespace WhatNetworksLearn.Notebook;

/// <summary>How a <see cref="Note"/> is shown: plain information, or a warning the reader must not miss.</summary>
public enum NoteKind { Information, Warning }

/// <summary>
/// One line the kit says to the reader, outside any figure: which model a notebook fell back to and how to get the
/// other one, or that the weights in use are a stand-in. In a notebook it is displayed below the cell; elsewhere
/// (runner, tests) it goes to the console.
/// </summary>
public sealed record Note(string Text, NoteKind Kind = NoteKind.Information)
{
    public string ToHtml()
    {
        var style = Kind == NoteKind.Warning
            ? "background:#fff3cd;border:2px solid #c77700;color:#5c3600;padding:6px 10px;font-weight:bold"
            : "background:#eef4fb;border-left:4px solid #3b73b9;color:#1d3a5c;padding:4px 10px";
        return $"<div style=\"font-family:sans-serif;{style}\">{(Kind == NoteKind.Warning ? "⚠ " : "")}{WebUtility.HtmlEncode(Text)}</div>";
    }

    public override string ToString() => (Kind == NoteKind.Warning ? "WARNING: " : "") + Text;

    /// <summary>Shows the note in the running notebook cell, or writes it to the console outside a notebook.</summary>
    public void Show()
    {
        if (KernelInvocationContext.Current is { } context)
            context.Display(this);
        else
            Console.WriteLine(ToString());
    }
}
