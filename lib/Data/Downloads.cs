using System.Net;
using System.Security.Cryptography;
using WhatNetworksLearn.Notebook;

namespace WhatNetworksLearn.Data;

/// <summary>
/// Downloads a file once, checks it, and only then puts it where it belongs, so that a cut connection or a wrong file
/// never leaves something half-written that a later run would trust.
/// </summary>
public static class Downloads
{
    /// <summary>How long connecting may take before a download counts as failed (an unreachable host should fail fast).</summary>
    internal static TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long the server may stay silent (for the headers or between two chunks) before a download counts as stalled.</summary>
    internal static TimeSpan StallTimeout { get; set; } = TimeSpan.FromSeconds(60);

    static readonly Lazy<HttpClient> client = new(() => new HttpClient(new SocketsHttpHandler
    {
        ConnectTimeout = ConnectTimeout,
        // Keep the bytes exactly as served: a .gz file must stay a .gz file.
        AutomaticDecompression = DecompressionMethods.None,
    })
    {
        // Large files on slow links may take long; stalls are caught by StallTimeout instead.
        Timeout = Timeout.InfiniteTimeSpan,
    });

    /// <summary>
    /// Where downloaded data sets are kept between sessions: the folder in the KIT_CACHE environment variable if set,
    /// else ~/.cache/what-networks-learn. Outside the kit's folder, so that downloads survive a fresh checkout.
    /// </summary>
    public static string CacheFolder
    {
        get
        {
            var fromEnvironment = Environment.GetEnvironmentVariable("KIT_CACHE");
            if (!string.IsNullOrWhiteSpace(fromEnvironment))
                return Path.GetFullPath(fromEnvironment);
            var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            return Path.Combine(home, ".cache", "what-networks-learn");
        }
    }

    /// <summary>
    /// Downloads <paramref name="source"/> to <paramref name="destination"/> and returns the destination's full path.
    /// The file is written beside the destination under a temporary name, checked with <paramref name="verify"/> (given that
    /// temporary path; null accepts anything) and only then moved into place. A file already at the destination that passes
    /// <paramref name="verify"/> is kept and nothing is downloaded.
    /// Throws <see cref="IOException"/> (naming the URL and where to put the file by hand) when the download fails, and
    /// <see cref="InvalidDataException"/> when the check fails.
    /// </summary>
    public static string Fetch(Uri source, string destination, Func<string, bool>? verify = null,
                               IProgress<(long done, long? total)>? progress = null) =>
        FetchChecked(source, destination,
                     verify is null ? _ => null : path => verify(path) ? null : "the downloaded file failed its verification",
                     progress);

    /// <summary>
    /// Downloads <paramref name="source"/> to <paramref name="destination"/> as <see cref="Fetch(Uri, string, Func{string, bool}?, IProgress{ValueTuple{long, long?}}?)"/>
    /// does, checking the SHA-256 (hex) of the file, or, with <paramref name="hashDecompressed"/>, of its content once
    /// un-gzipped: the only stable checksum for data that was compressed again, as Debian did with Fashion-MNIST.
    /// A mismatch deletes the download and throws an <see cref="InvalidDataException"/> giving both checksums and the URL.
    /// </summary>
    public static string Fetch(Uri source, string destination, string expectedSha256, bool hashDecompressed = false,
                               IProgress<(long done, long? total)>? progress = null)
    {
        var expected = expectedSha256.Trim().ToLowerInvariant();
        return FetchChecked(source, destination, path =>
        {
            string actual;
            try
            {
                actual = hashDecompressed ? Sha256OfDecompressed(path) : Sha256(path);
            }
            catch (InvalidDataException e)
            {
                return $"its gzip data is damaged ({e.Message}), so its SHA-256 cannot be compared with the expected {expected}";
            }
            return actual == expected
                ? null
                : $"SHA-256 mismatch{(hashDecompressed ? " (of the decompressed content)" : "")}: expected {expected}, actual {actual}";
        }, progress);
    }

    /// <summary>The SHA-256 of the file's bytes, as lowercase hex (what sha256sum prints).</summary>
    public static string Sha256(string path)
    {
        using var file = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(file));
    }

    /// <summary>
    /// The SHA-256 of the file's content once un-gzipped (what `zcat FILE | sha256sum` prints), or of the file itself when it
    /// is not gzip (detected by its magic bytes). Unlike the hash of a .gz file, it does not depend on the compressor.
    /// </summary>
    public static string Sha256OfDecompressed(string path)
    {
        using var content = Gzip.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(content));
    }

    /// <summary>
    /// The download itself. <paramref name="problem"/> returns null when the file at the given path is acceptable,
    /// else a sentence saying what is wrong with it.
    /// </summary>
    internal static string FetchChecked(Uri source, string destination, Func<string, string?> problem,
                                        IProgress<(long done, long? total)>? progress)
    {
        var target = Path.GetFullPath(destination);
        if (File.Exists(target) && problem(target) is null)
            return target;

        var folder = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(folder);
        var temporary = Path.Combine(folder, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.part");
        try
        {
            // On a thread-pool thread, so that waiting here cannot dead-lock a caller's synchronisation context (a notebook's).
            Task.Run(() => DownloadAsync(source, temporary, target, progress)).GetAwaiter().GetResult();
            if (problem(temporary) is string wrong)
                throw new InvalidDataException($"The file downloaded from {source} is not the expected one: {wrong}. It was deleted; " +
                                               $"nothing was written to {target}.");
            File.Move(temporary, target, overwrite: true);
            return target;
        }
        finally
        {
            if (File.Exists(temporary))
                File.Delete(temporary);
        }
    }

    static async Task DownloadAsync(Uri source, string temporary, string target, IProgress<(long done, long? total)>? progress)
    {
        using var stall = new CancellationTokenSource();
        try
        {
            stall.CancelAfter(StallTimeout);
            using var response = await client.Value.GetAsync(source, HttpCompletionOption.ResponseHeadersRead, stall.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
                throw new HttpRequestException($"the server answered {(int)response.StatusCode} {response.ReasonPhrase}", null, response.StatusCode);

            long? total = response.Content.Headers.ContentLength;
            using var display = ProgressDisplay.Start($"Downloading {Path.GetFileName(target)}", total is long t ? Kilobytes(t) : 0);
            await using var body = await response.Content.ReadAsStreamAsync(stall.Token).ConfigureAwait(false);
            await using var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
            var buffer = new byte[1 << 16];
            long done = 0;
            while (true)
            {
                stall.CancelAfter(StallTimeout);
                int read = await body.ReadAsync(buffer, stall.Token).ConfigureAwait(false);
                if (read == 0)
                    break;
                await file.WriteAsync(buffer.AsMemory(0, read), stall.Token).ConfigureAwait(false);
                done += read;
                progress?.Report((done, total));
                display.Report(Kilobytes(done), total is long all ? $"{Megabytes(done)} of {Megabytes(all)}" : Megabytes(done));
            }
            if (total is long expected && done != expected)
                throw new IOException($"the connection closed after {done} of {expected} bytes");
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException)
        {
            var reason = e is OperationCanceledException
                ? $"the server did not answer for {StallTimeout.TotalSeconds:0} s"
                : e.Message;
            throw new IOException($"Could not download {source} ({reason}). If this machine is offline, download the file " +
                                  $"elsewhere and place it at {target}.", e);
        }
    }

    static int Kilobytes(long bytes) => (int)Math.Min(int.MaxValue, (bytes + 1023) / 1024);

    static string Megabytes(long bytes) => $"{bytes / 1048576.0:F1} MB";
}
