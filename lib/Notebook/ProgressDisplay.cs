using System.Diagnostics;
using System.Net;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Formatting;

namespace WhatNetworksLearn.Notebook;

/// <summary>
/// One progress bar for a long loop (training, optimisation, attacks) that updates in place in a notebook.
/// Outside a notebook kernel it stays silent, so tests and benchmarks print nothing.
/// </summary>
public sealed class ProgressDisplay : IDisposable
{
    static readonly TimeSpan MinimumInterval = TimeSpan.FromMilliseconds(250);

    readonly string label;
    readonly int total;
    readonly Stopwatch clock = Stopwatch.StartNew();
    readonly DisplayedValue? displayed;
    TimeSpan lastShown = TimeSpan.Zero;

    /// <summary>What the bar shows at one moment.</summary>
    public sealed record State(string Label, int Done, int Total, string Status, TimeSpan Elapsed)
    {
        public string ToHtml()
        {
            double fraction = Total > 0 ? Math.Clamp((double)Done / Total, 0, 1) : 0;
            return $"<div style=\"font-family:sans-serif;font-size:0.9em\">{WebUtility.HtmlEncode(Label)} " +
                   $"<progress value=\"{Done}\" max=\"{Math.Max(Total, 1)}\" style=\"width:240px\"></progress> " +
                   $"{Done}/{Total} · {Elapsed.TotalSeconds:F1} s {WebUtility.HtmlEncode(Status)}</div>";
        }
    }

    ProgressDisplay(string label, int total)
    {
        this.label = label;
        this.total = total;
        displayed = !IsSilenced && InKernel() ? Show() : null;
    }

    /// <summary>Starts a bar for <paramref name="total"/> steps; inside <see cref="Silence"/>, a bar that shows nothing.</summary>
    public static ProgressDisplay Start(string label, int total) => new(label, total);

    static readonly AsyncLocal<int> silencers = new();

    /// <summary>Whether bars started now stay silent (inside <see cref="Silence"/>).</summary>
    public static bool IsSilenced => silencers.Value > 0;

    /// <summary>
    /// Until disposed, every bar started on this flow of execution shows nothing. Exercise checks run the kit's methods
    /// under it: a bar counts steps (patch positions, runs tried), and what a check prints must not give its answer away.
    /// Nests.
    /// </summary>
    public static IDisposable Silence()
    {
        silencers.Value++;
        return new Unsilence();
    }

    sealed class Unsilence : IDisposable
    {
        bool disposed;

        public void Dispose()
        {
            if (disposed)
                return;
            disposed = true;
            silencers.Value--;
        }
    }

    /// <summary>Sets the number of steps done; redraws at most four times a second, and always at the end.</summary>
    public void Report(int done, string status = "")
    {
        if (displayed is null)
            return;
        var now = clock.Elapsed;
        if (done < total && now - lastShown < MinimumInterval)
            return;
        lastShown = now;
        displayed.Update(new State(label, done, total, status, now));
    }

    public void Dispose() => clock.Stop();

    static bool InKernel() =>
        AppDomain.CurrentDomain.GetAssemblies().Any(a => a.GetName().Name == "Microsoft.DotNet.Interactive.CSharp");

    DisplayedValue? Show() => KernelInvocationContext.Current?.Display(new State(label, 0, total, "", TimeSpan.Zero));
}
