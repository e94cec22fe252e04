using WhatNetworksLearn.Models;

namespace NotebookRunner;

/// <summary>
/// environment/fetch-models.sh: downloads the official ImageNet weights into the kit's cache before class, with a
/// progress line and the SHA-256 check, so that every notebook's ImageNet figures appear.
/// </summary>
static class WeightsFetch
{
    /// <summary>Fetches each named architecture; returns the exit code (0 when every one is in the cache and verified).</summary>
    public static int Run(IReadOnlyList<string> names)
    {
        int failed = 0;
        foreach (var name in names)
        {
            TorchVisionModels.Architecture architecture;
            try
            {
                architecture = TorchVisionModels.Find(name);
            }
            catch (ArgumentException unknown)
            {
                Console.Error.WriteLine(unknown.Message);
                failed++;
                continue;
            }
            Console.WriteLine($"{name}: {architecture.WeightsUrl} -> {architecture.CachePath}");
            try
            {
                var progress = new ConsoleProgress();
                var path = TorchVisionModels.Fetch(name, progress);
                progress.Finish();
                Console.WriteLine($"{name}: ready, SHA-256 checked ({new FileInfo(path).Length / 1048576.0:F1} MB at {path}).");
            }
            catch (Exception error) when (error is IOException or InvalidDataException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"\n{name}: not fetched. {error.Message}");
                failed++;
            }
        }
        return failed == 0 ? 0 : 1;
    }

    /// <summary>One line that updates in place: megabytes done, of how many, and the share.</summary>
    sealed class ConsoleProgress : IProgress<(long done, long? total)>
    {
        DateTime lastShown = DateTime.MinValue;
        bool shown;

        public void Report((long done, long? total) value)
        {
            var now = DateTime.UtcNow;
            if (now - lastShown < TimeSpan.FromMilliseconds(200) && value.done != value.total)
                return;
            lastShown = now;
            shown = true;
            var (done, total) = value;
            Console.Write(total is long all && all > 0
                ? $"\r  {done / 1048576.0,7:F1} of {all / 1048576.0:F1} MB ({100.0 * done / all,3:F0} %)"
                : $"\r  {done / 1048576.0,7:F1} MB");
        }

        public void Finish()
        {
            if (shown)
                Console.WriteLine();
        }
    }
}
