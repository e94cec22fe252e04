using System.Diagnostics;

namespace WhatNetworksLearn.Tests;

/// <summary>
/// Opens a local page in headless Chromium with no network, as a classroom without internet would, and returns the
/// page's DOM once its scripts have run. Chromium comes from Debian's `chromium` package, which environment/test.sh installs.
/// </summary>
static class HeadlessChromium
{
    /// <summary>
    /// The DOM of the page after its scripts ran (frames not included), and what Chromium logged. A
    /// <paramref name="fragment"/> (such as "#check") is added to the page's address.
    /// </summary>
    public static (string Dom, string Log) DumpDom(string pageFile, string profileFolder, string fragment = "")
    {
        var browser = new[] { "chromium", "chromium-browser", "google-chrome" }
            .Select(name => Environment.GetEnvironmentVariable("PATH")!.Split(':').Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists))
            .FirstOrDefault(path => path is not null)
            ?? throw new InvalidOperationException("Chromium is needed for this test: run ./environment/test.sh (it installs it) or apt-get install chromium.");
        var start = new ProcessStartInfo(browser) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
                     // No network: every host name fails to resolve and any other request goes to a closed local port.
                     "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
                     "--allow-file-access-from-files", $"--user-data-dir={profileFolder}", "--virtual-time-budget=10000", "--dump-dom",
                     new Uri(Path.GetFullPath(pageFile)).AbsoluteUri + fragment })
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var dom = process.StandardOutput.ReadToEndAsync();
        var log = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("Chromium did not finish within two minutes.");
        }
        return (dom.Result, log.Result);
    }
}
