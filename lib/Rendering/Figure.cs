using System.Net;

namespace WhatNetworksLearn.Rendering;

/// <summary>
/// A finished picture: PNG bytes with a title. Notebooks show it inline; the headless runner saves it
/// as <c>artifacts/&lt;notebook&gt;/&lt;slug&gt;.png</c>, so the title names the file.
/// </summary>
public sealed record Figure(string Title, byte[] Png, int Width, int Height)
{
    /// <summary>The title reduced to lower-case letters, digits and dashes: the figure's file name.</summary>
    public string Slug => MakeSlug(Title);

    public string ToDataUri() => "data:image/png;base64," + Convert.ToBase64String(Png);

    /// <summary>An HTML fragment that shows the figure in VS Code, Jupyter and a browser.</summary>
    public string ToHtml() =>
        $"<figure data-figure=\"{Slug}\" style=\"margin:0.5em 0\">" +
        $"<img src=\"{ToDataUri()}\" width=\"{Width}\" height=\"{Height}\" alt=\"{WebUtility.HtmlEncode(Title)}\"/>" +
        $"<figcaption style=\"font-size:0.9em;color:#555\">{WebUtility.HtmlEncode(Title)}</figcaption></figure>";

    public void Save(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllBytes(path, Png);
    }

    public static string MakeSlug(string title)
    {
        var chars = title.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-').ToArray();
        var slug = string.Join('-', new string(chars).Split('-', StringSplitOptions.RemoveEmptyEntries));
        return slug.Length == 0 ? "figure" : slug;
    }
}
