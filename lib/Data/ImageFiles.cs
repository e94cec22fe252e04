using SkiaSharp;
using WhatNetworksLearn.Platform;
using WhatNetworksLearn.Rendering;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Data;

/// <summary>Reads and writes image files (PNG, JPEG, and whatever else Skia decodes) as tensors in [0,1].</summary>
public static class ImageFiles
{
    /// <summary>
    /// The image as a 3 x H x W float tensor in [0,1], upright: a photo whose EXIF orientation says the camera was
    /// held sideways (phones store such photos turned) is turned or mirrored as the orientation asks, as photo viewers
    /// do. Greyscale files give three equal channels; transparency is dropped. A missing or undecodable file is an
    /// error that names the file. Loading the same file again returns the pixels already in memory
    /// (<see cref="SharedLoads"/>): change a clone, not them.
    /// </summary>
    public static Tensor Load(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"No image file at {Path.GetFullPath(path)}.", path);
        return SharedLoads.Tensor("image " + SharedLoads.FileKey(path), () => Decode(path));
    }

    static Tensor Decode(string path)
    {
        using var codec = SKCodec.Create(path)
            ?? throw new InvalidDataException($"{Path.GetFullPath(path)} is not an image this kit can read (PNG or JPEG), or it is damaged.");
        // Decode to 8-bit RGBA whatever the file holds (greyscale, palette, 16-bit, alpha).
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap(info);
        var result = codec.GetPixels(info, bitmap.GetPixels());
        if (result != SKCodecResult.Success)
            throw new InvalidDataException(result == SKCodecResult.IncompleteInput
                ? $"{Path.GetFullPath(path)} is truncated: the file ends before the image does."
                : $"{Path.GetFullPath(path)} could not be decoded ({result}); the file is damaged or in an unsupported variant.");
        var stored = Pixels.FromBitmap(bitmap);
        if (codec.EncodedOrigin == SKEncodedOrigin.TopLeft)
            return stored;
        using (stored)
            return Upright(stored, codec.EncodedOrigin);
    }

    /// <summary>
    /// Every PNG and JPEG file of <paramref name="folder"/>, in the ordinal order of their names, each as its name and a
    /// 3 x H x W tensor (<see cref="Load"/>). The kit's photos are <c>LoadFolder(Kit.DataPath("images"))</c>.
    /// </summary>
    public static List<(string Name, Tensor Image)> LoadFolder(string folder)
    {
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"No folder at {Path.GetFullPath(folder)}.");
        var files = Directory.GetFiles(folder)
            .Where(f => Path.GetExtension(f).ToLowerInvariant() is ".png" or ".jpg" or ".jpeg")
            .OrderBy(f => Path.GetFileName(f), StringComparer.Ordinal).ToList();
        if (files.Count == 0)
            throw new FileNotFoundException($"{Path.GetFullPath(folder)} holds no PNG or JPEG file.");
        return files.Select(f => (Path.GetFileName(f), Load(f))).ToList();
    }

    /// <summary>The stored pixels (C x H x W) as they are meant to be seen, for EXIF orientations 2 to 8.</summary>
    static Tensor Upright(Tensor stored, SKEncodedOrigin origin) => origin switch
    {
        SKEncodedOrigin.TopRight => stored.flip(2),                        // 2: mirror left to right
        SKEncodedOrigin.BottomRight => stored.flip(1, 2),                  // 3: turn upside down
        SKEncodedOrigin.BottomLeft => stored.flip(1),                      // 4: mirror top to bottom
        SKEncodedOrigin.LeftTop => stored.permute(0, 2, 1).contiguous(),   // 5: transpose
        SKEncodedOrigin.RightTop => stored.permute(0, 2, 1).flip(2),       // 6: turn a quarter clockwise
        SKEncodedOrigin.RightBottom => stored.permute(0, 2, 1).flip(1, 2), // 7: transpose along the other diagonal
        SKEncodedOrigin.LeftBottom => stored.permute(0, 2, 1).flip(1),     // 8: turn a quarter anticlockwise
        _ => throw new InvalidDataException($"Unknown EXIF orientation {origin}."),
    };

    /// <summary>The image as a 1 x H x W tensor: the luma of its colours (ITU-R BT.601 weights).</summary>
    public static Tensor LoadGrey(string path)
    {
        using var scope = NewDisposeScope();
        var rgb = Load(path);
        var weights = tensor(new[] { 0.299f, 0.587f, 0.114f }).reshape(3, 1, 1);
        return (rgb * weights).sum(0, keepdim: true).MoveToOuterDisposeScope();
    }

    /// <summary>Writes a 3 x H x W or 1 x H x W tensor in [0,1] as a PNG file.</summary>
    public static void SavePng(Tensor image, string path)
    {
        using var bitmap = Pixels.ToBitmap(image);
        using var encoded = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllBytes(path, encoded.ToArray());
    }
}
