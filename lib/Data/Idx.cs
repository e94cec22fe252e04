using System.Buffers.Binary;
using System.IO.Compression;
using TorchSharp;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Data;

/// <summary>
/// Reads IDX files, the format MNIST and Fashion-MNIST ship in, gzipped or not, straight into tensors.
/// Only unsigned-byte data is read, which is all those data sets use.
/// </summary>
public static class Idx
{
    /// <summary>Magic number of an unsigned-byte IDX file with three dimensions (N x rows x columns): images.</summary>
    public const int ImagesMagic = 0x00000803;

    /// <summary>Magic number of an unsigned-byte IDX file with one dimension (N): labels.</summary>
    public const int LabelsMagic = 0x00000801;

    const byte UnsignedByteType = 0x08;

    /// <summary>
    /// The images as a float32 N x 1 x H x W tensor in [0,1] (byte / 255): the layout TorchSharp's convolutions expect.
    /// <paramref name="limit"/> reads only the first records, which is quicker for a small experiment.
    /// </summary>
    public static Tensor ReadImages(string path, int? limit = null)
    {
        var (dims, data) = ReadBytes(path, ImagesMagic, limit);
        using var scope = NewDisposeScope();
        var bytes = torch.tensor(data, [dims[0], 1, dims[1], dims[2]], ScalarType.Byte);
        return bytes.to_type(ScalarType.Float32).div_(255f).MoveToOuterDisposeScope();
    }

    /// <summary>The labels as an int64 tensor of length N, the type cross-entropy losses take as targets.</summary>
    public static Tensor ReadLabels(string path, int? limit = null)
    {
        var (dims, data) = ReadBytes(path, LabelsMagic, limit);
        using var scope = NewDisposeScope();
        var bytes = torch.tensor(data, [dims[0]], ScalarType.Byte);
        return bytes.to_type(ScalarType.Int64).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The dimensions (the first one cut to <paramref name="limit"/>) and the payload bytes of an unsigned-byte IDX file,
    /// checked against the magic number expected. Every structural problem is an <see cref="InvalidDataException"/> naming the file.
    /// </summary>
    internal static (int[] Dims, byte[] Data) ReadBytes(string path, int expectedMagic, int? limit)
    {
        if (limit is < 0)
            throw new ArgumentOutOfRangeException(nameof(limit), limit, "The number of records to read cannot be negative.");
        var fullPath = Path.GetFullPath(path);
        if (!File.Exists(fullPath))
            throw new FileNotFoundException($"No IDX file at {fullPath}.", fullPath);

        try
        {
            using var stream = Gzip.OpenRead(fullPath);
            Span<byte> word = stackalloc byte[4];
            if (stream.ReadAtLeast(word, 4, throwOnEndOfStream: false) < 4)
                throw Invalid(fullPath, "it is shorter than an IDX header");
            int magic = BinaryPrimitives.ReadInt32BigEndian(word);
            if (word[0] != 0 || word[1] != 0)
                throw Invalid(fullPath, $"it does not start like an IDX file (magic 0x{magic:X8}, expected 0x{expectedMagic:X8})");
            if (word[2] != UnsignedByteType)
                throw Invalid(fullPath, $"its data type is 0x{word[2]:X2}, but only unsigned bytes (0x08) are supported (magic 0x{magic:X8})");
            if (magic != expectedMagic)
                throw Invalid(fullPath, $"it has {word[3]} dimension(s) (magic 0x{magic:X8}), expected {expectedMagic & 0xFF} (magic 0x{expectedMagic:X8})");

            var dims = new int[word[3]];
            long recordSize = 1;
            for (int i = 0; i < dims.Length; i++)
            {
                if (stream.ReadAtLeast(word, 4, throwOnEndOfStream: false) < 4)
                    throw Invalid(fullPath, "its header ends before all dimensions are given");
                uint dim = BinaryPrimitives.ReadUInt32BigEndian(word);
                if (dim > int.MaxValue)
                    throw Invalid(fullPath, $"dimension {i} is {dim}, too large");
                dims[i] = (int)dim;
                if (i > 0)
                    recordSize *= dim;
            }

            long records = limit is int n ? Math.Min(n, dims[0]) : dims[0];
            long byteCount = records * recordSize;
            if (byteCount > Array.MaxLength)
                throw Invalid(fullPath, $"{records} records of {recordSize} bytes do not fit in one array; pass a smaller limit");
            var data = GC.AllocateUninitializedArray<byte>((int)byteCount);
            int read = stream.ReadAtLeast(data, data.Length, throwOnEndOfStream: false);
            if (read < data.Length)
                throw Invalid(fullPath, $"it is truncated: the header announces {dims[0]} records of {recordSize} bytes, " +
                                        $"but only {read} of the {byteCount} bytes needed are there");
            dims[0] = (int)records;
            return (dims, data);
        }
        catch (InvalidDataException e) when (!e.Message.Contains(fullPath, StringComparison.Ordinal))
        {
            // The decompressor's own complaints (damaged or cut-off gzip data) do not say which file they are about.
            throw Invalid(fullPath, $"its gzip data is damaged ({e.Message})", e);
        }
    }

    static InvalidDataException Invalid(string path, string problem, Exception? inner = null) =>
        new($"{path} is not a valid unsigned-byte IDX file: {problem}.", inner);
}

/// <summary>Gzip detection by content (the magic bytes 1f 8b), because file names are not to be trusted.</summary>
static class Gzip
{
    /// <summary>True when the file starts with the gzip magic bytes.</summary>
    public static bool IsGzip(string path)
    {
        using var file = File.OpenRead(path);
        Span<byte> head = stackalloc byte[2];
        return file.ReadAtLeast(head, 2, throwOnEndOfStream: false) == 2 && head[0] == 0x1f && head[1] == 0x8b;
    }

    /// <summary>The file's content for reading: decompressed when it is gzip, as is otherwise.</summary>
    public static Stream OpenRead(string path)
    {
        bool gzip = IsGzip(path);
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        return gzip ? new GZipStream(file, CompressionMode.Decompress) : file;
    }
}
