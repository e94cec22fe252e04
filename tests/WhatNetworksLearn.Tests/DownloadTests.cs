using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using WhatNetworksLearn.Data;

namespace WhatNetworksLearn.Tests;

public class DownloadTests : IDisposable
{
    /// <summary>
    /// A minimal HTTP/1.1 server on 127.0.0.1 serving files from memory, so download tests never leave the machine.
    /// Each answer closes its connection.
    /// </summary>
    internal sealed class Server : IDisposable
    {
        readonly TcpListener listener = new(IPAddress.Loopback, 0);
        readonly CancellationTokenSource stop = new();
        int requests;

        /// <summary>Served files by path ("/name"); paths not here answer 404.</summary>
        public ConcurrentDictionary<string, byte[]> Files { get; } = new();

        /// <summary>Paths whose answer announces the full length but stops half-way, like a cut connection.</summary>
        public ConcurrentDictionary<string, bool> CutShort { get; } = new();

        public int Requests => Volatile.Read(ref requests);

        public Uri BaseUri { get; }

        public Server()
        {
            listener.Start();
            BaseUri = new Uri($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/");
            _ = Task.Run(AcceptLoop);
        }

        public Uri Serve(string name, byte[] content)
        {
            Files["/" + name] = content;
            return new Uri(BaseUri, name);
        }

        async Task AcceptLoop()
        {
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    var connection = await listener.AcceptTcpClientAsync(stop.Token);
                    _ = Task.Run(() => Answer(connection));
                }
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
            }
        }

        async Task Answer(TcpClient connection)
        {
            using var _ = connection;
            var stream = connection.GetStream();
            var request = new StringBuilder();
            var buffer = new byte[4096];
            while (!request.ToString().Contains("\r\n\r\n"))
            {
                int read = await stream.ReadAsync(buffer);
                if (read == 0)
                    return;
                request.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }
            Interlocked.Increment(ref requests);
            var path = request.ToString().Split(' ')[1];
            if (!Files.TryGetValue(path, out var body))
            {
                await stream.WriteAsync("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray());
                return;
            }
            var header = $"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(header));
            await stream.WriteAsync(CutShort.ContainsKey(path) ? body.AsMemory(0, body.Length / 2) : body);
            await stream.FlushAsync();
        }

        public void Dispose()
        {
            stop.Cancel();
            listener.Stop();
        }

        /// <summary>A loopback port nobody listens on: connecting is refused at once, like an unreachable server.</summary>
        public static Uri Unreachable(string name)
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            int port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            return new Uri($"http://127.0.0.1:{port}/{name}");
        }
    }

    /// <summary>Records every report synchronously (Progress&lt;T&gt; would post them later, on another thread).</summary>
    sealed class Recorder : IProgress<(long done, long? total)>
    {
        public List<(long done, long? total)> Reports { get; } = [];
        public void Report((long done, long? total) value) => Reports.Add(value);
    }

    readonly string folder = IdxTests.Files.TemporaryFolder();
    readonly Server server = new();
    static readonly byte[] Content = Enumerable.Range(0, 300_000).Select(i => (byte)(i * 7 % 251)).ToArray();
    static readonly string ContentSha = Convert.ToHexStringLower(SHA256.HashData(Content));

    public void Dispose()
    {
        server.Dispose();
        Directory.Delete(folder, recursive: true);
    }

    string[] FolderFiles() => Directory.GetFiles(folder, "*", SearchOption.AllDirectories);

    [Fact]
    public void Sha256_is_the_lowercase_hex_of_the_bytes()
    {
        var path = Path.Combine(folder, "abc");
        File.WriteAllText(path, "abc");
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", Downloads.Sha256(path));
    }

    [Fact]
    public void Sha256OfDecompressed_hashes_the_content_of_a_gzip_file_and_plain_files_as_they_are()
    {
        var gz = Path.Combine(folder, "content.gz");
        var plain = Path.Combine(folder, "content");
        File.WriteAllBytes(gz, IdxTests.Files.Gzip(Content));
        File.WriteAllBytes(plain, Content);
        Assert.Equal(ContentSha, Downloads.Sha256OfDecompressed(gz));
        Assert.Equal(ContentSha, Downloads.Sha256OfDecompressed(plain));
        Assert.NotEqual(ContentSha, Downloads.Sha256(gz));
    }

    [Fact]
    public void CacheFolder_follows_KIT_CACHE()
    {
        var before = Environment.GetEnvironmentVariable("KIT_CACHE");
        try
        {
            Environment.SetEnvironmentVariable("KIT_CACHE", folder);
            Assert.Equal(Path.GetFullPath(folder), Downloads.CacheFolder);
            Environment.SetEnvironmentVariable("KIT_CACHE", null);
            var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            Assert.Equal(Path.Combine(home, ".cache", "what-networks-learn"), Downloads.CacheFolder);
        }
        finally
        {
            Environment.SetEnvironmentVariable("KIT_CACHE", before);
        }
    }

    [Fact]
    public void A_download_with_the_right_checksum_lands_at_the_destination_and_nothing_else_is_left()
    {
        var source = server.Serve("data.bin", Content);
        var destination = Path.Combine(folder, "sub", "data.bin");
        var progress = new Recorder();

        var result = Downloads.Fetch(source, destination, ContentSha.ToUpperInvariant(), progress: progress);

        Assert.Equal(Path.GetFullPath(destination), result);
        Assert.Equal(Content, File.ReadAllBytes(destination));
        Assert.Equal([Path.GetFullPath(destination)], FolderFiles());
        Assert.NotEmpty(progress.Reports);
        Assert.Equal((Content.LongLength, (long?)Content.LongLength), progress.Reports[^1]);
        Assert.True(progress.Reports.Zip(progress.Reports.Skip(1)).All(p => p.First.done < p.Second.done), "progress only grows");
    }

    [Fact]
    public void A_checksum_mismatch_deletes_the_download_and_says_expected_actual_and_url()
    {
        var source = server.Serve("data.bin", Content);
        var destination = Path.Combine(folder, "data.bin");
        var expected = new string('0', 64);

        var error = Assert.Throws<InvalidDataException>(() => Downloads.Fetch(source, destination, expected));

        Assert.Contains(expected, error.Message);
        Assert.Contains(ContentSha, error.Message);
        Assert.Contains(source.ToString(), error.Message);
        Assert.Empty(FolderFiles());
    }

    [Fact]
    public void The_decompressed_checksum_accepts_any_compression_of_the_right_content()
    {
        var source = server.Serve("data.bin.gz", IdxTests.Files.Gzip(Content));
        var destination = Path.Combine(folder, "data.bin.gz");

        Assert.Throws<InvalidDataException>(() => Downloads.Fetch(source, destination, ContentSha));
        Assert.Empty(FolderFiles());

        Downloads.Fetch(source, destination, ContentSha, hashDecompressed: true);
        Assert.Equal(server.Files["/data.bin.gz"], File.ReadAllBytes(destination)); // kept as served, still gzipped
    }

    [Fact]
    public void Damaged_gzip_data_is_a_failed_check_naming_the_url()
    {
        var damaged = IdxTests.Files.Gzip(Content);
        Array.Fill(damaged, (byte)0xFF, 10, 200); // keep the gzip magic, spoil the compressed stream
        var source = server.Serve("data.bin.gz", damaged);

        var error = Assert.Throws<InvalidDataException>(() =>
            Downloads.Fetch(source, Path.Combine(folder, "data.bin.gz"), ContentSha, hashDecompressed: true));

        Assert.Contains(source.ToString(), error.Message);
        Assert.Contains(ContentSha, error.Message);
        Assert.Empty(FolderFiles());
    }

    [Fact]
    public void A_verify_function_that_refuses_leaves_no_file()
    {
        var source = server.Serve("data.bin", Content);
        var destination = Path.Combine(folder, "data.bin");
        string? checkedPath = null;

        Assert.Throws<InvalidDataException>(() => Downloads.Fetch(source, destination, path => { checkedPath = path; return false; }));
        Assert.NotNull(checkedPath);
        Assert.NotEqual(Path.GetFullPath(destination), checkedPath); // it checks the temporary file, before the move
        Assert.Equal(Path.GetDirectoryName(Path.GetFullPath(destination)), Path.GetDirectoryName(checkedPath)); // beside the destination
        Assert.Empty(FolderFiles());

        Downloads.Fetch(source, destination, path => File.ReadAllBytes(path).SequenceEqual(Content));
        Assert.Equal(Content, File.ReadAllBytes(destination));
    }

    [Fact]
    public void An_unreachable_server_is_IOException_naming_the_url_and_the_destination()
    {
        var source = Server.Unreachable("data.bin");
        var destination = Path.Combine(folder, "data.bin");

        var error = Assert.Throws<IOException>(() => Downloads.Fetch(source, destination, ContentSha));

        Assert.Contains(source.ToString(), error.Message);
        Assert.Contains(Path.GetFullPath(destination), error.Message);
        Assert.Empty(FolderFiles());
    }

    [Fact]
    public void An_http_error_is_IOException_with_the_status()
    {
        var source = new Uri(server.BaseUri, "missing.bin");
        var destination = Path.Combine(folder, "missing.bin");

        var error = Assert.Throws<IOException>(() => Downloads.Fetch(source, destination));

        Assert.Contains("404", error.Message);
        Assert.Contains(source.ToString(), error.Message);
        Assert.Contains(Path.GetFullPath(destination), error.Message);
        Assert.Empty(FolderFiles());
    }

    [Fact]
    public void A_connection_cut_half_way_leaves_no_half_file_even_without_a_checksum()
    {
        var source = server.Serve("data.bin", Content);
        server.CutShort["/data.bin"] = true;
        var destination = Path.Combine(folder, "data.bin");

        var error = Assert.Throws<IOException>(() => Downloads.Fetch(source, destination));

        Assert.Contains(source.ToString(), error.Message);
        Assert.Empty(FolderFiles());
    }

    [Fact]
    public void A_valid_file_already_in_place_is_kept_without_a_download()
    {
        var destination = Path.Combine(folder, "data.bin");
        File.WriteAllBytes(destination, Content);

        Assert.Equal(Path.GetFullPath(destination), Downloads.Fetch(Server.Unreachable("data.bin"), destination, ContentSha));
        Assert.Equal(0, server.Requests);
    }

    [Fact]
    public void A_wrong_file_in_place_is_replaced_by_a_verified_download()
    {
        var destination = Path.Combine(folder, "data.bin");
        File.WriteAllText(destination, "a half or wrong file");
        var source = server.Serve("data.bin", Content);

        Downloads.Fetch(source, destination, ContentSha);

        Assert.Equal(Content, File.ReadAllBytes(destination));
        Assert.Equal(1, server.Requests);
    }
}
