using System.Text.Json;
using WhatNetworksLearn.Attribution;
using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Data;

/// <summary>
/// The hand-drawn mask of the object in one of the kit's photos, prepared the way the photo is for a model, to measure
/// a map or a segmentation against: how much of a map lies on the object, compared with how much of the image the
/// object covers, and the IoU of a segmentation with it.
/// </summary>
/// <param name="Photo">The photo's file name in data/images/.</param>
/// <param name="Object">What the mask covers, for captions ("the cat").</param>
/// <param name="Description">What the outline includes and leaves out.</param>
/// <param name="Mask">H x W on the CPU: 1 on the object, 0 elsewhere.</param>
public sealed record ObjectMask(string Photo, string Object, string Description, Tensor Mask) : IDisposable
{
    /// <summary>The share of the image the object covers.</summary>
    public float Area => Mask.mean().item<float>();

    /// <summary>The share of <paramref name="map"/>'s magnitude on the object (<see cref="MapStatistics.ShareInside"/>).</summary>
    public double ShareOf(Tensor map) => MapStatistics.ShareInside(map, Mask);

    /// <summary>The share on the object as a caption: "98 %", or "no map" for a map that is zero everywhere.</summary>
    public string ShareText(Tensor map) => ShareOf(map) is var share && double.IsNaN(share) ? "no map" : share.ToString("P0");

    /// <summary>The IoU of a segmentation (H x W, inside above 0.5) with the object (<see cref="SaliencySegmentation.IntersectionOverUnion"/>).</summary>
    public float IntersectionOverUnion(Tensor segmentation) => SaliencySegmentation.IntersectionOverUnion(segmentation, Mask);

    /// <summary>One line for a figure's note: "62% of the map lies on the cat, which covers 78% of the image (1.0 times its share)".</summary>
    public string Summary(Tensor map, string what = "the map")
    {
        double share = ShareOf(map);
        float area = Area;
        return double.IsNaN(share)
            ? $"{what} is zero everywhere, so none of it lies on {Object} ({area:P0} of the image)"
            : $"{share:P0} of {what} lies on {Object}, which covers {area:P0} of the image ({share / area:F2} times its share)";
    }

    /// <summary>The photo (C x H x W, prepared as the mask was) with everything but the object dimmed: what the mask holds, to show beside a map.</summary>
    public Tensor Over(Tensor photo)
    {
        using var scope = NewDisposeScope();
        var pixels = photo.dim() == 4 && photo.shape[0] == 1 ? photo[0] : photo;
        if (pixels.dim() != 3 || pixels.shape[1] != Mask.shape[0] || pixels.shape[2] != Mask.shape[1])
            throw new ArgumentException($"Expected the photo C x {Mask.shape[0]} x {Mask.shape[1]}, prepared as the mask was; got [{string.Join(", ", photo.shape)}].", nameof(photo));
        return (pixels.detach().cpu() * (0.25f + 0.75f * Mask)).MoveToOuterDisposeScope();
    }

    public void Dispose() => Mask.Dispose();
}

/// <summary>
/// The kit's hand-labelled object masks (data/images/masks/): for each photo a JSON file with the object's outline as
/// polygons in the photo's own pixels, drawn once by eye and shipped (the README there says how). The masks are
/// rasterised here, when loaded, so the outline in the JSON file is the only copy.
/// </summary>
public static class ObjectMasks
{
    /// <summary>The folder of the mask files.</summary>
    public static string Folder => Kit.DataPath("images", "masks");

    /// <summary>The photos that have a mask, by file name.</summary>
    public static IReadOnlyList<string> Photos =>
        Directory.GetFiles(Folder, "*.json").Select(f => Read(f).Photo).Order(StringComparer.Ordinal).ToList();

    /// <summary>Whether <paramref name="photo"/> (a file name in data/images/) has a mask.</summary>
    public static bool Has(string photo) => File.Exists(PathOf(photo));

    /// <summary>
    /// The mask of <paramref name="photo"/> at the photo's own size (H x W, as <see cref="ImageFiles.Load"/> gives the
    /// photo). A photo without a mask is a <see cref="FileNotFoundException"/> that lists the photos that have one.
    /// </summary>
    public static ObjectMask Load(string photo)
    {
        var path = PathOf(photo);
        if (!File.Exists(path))
            throw new FileNotFoundException($"The photo {photo} has no object mask: there is no {Path.GetFullPath(path)}. " +
                $"Photos with a mask: {string.Join(", ", Photos)}. To add one, draw its outline as data/images/masks/README.md says.", path);
        var file = Read(path);
        if (file.Photo != photo)
            throw new InvalidDataException($"{path} describes {file.Photo}, not {photo}.");
        var polygons = file.Polygons.Select(p => (IReadOnlyList<(double X, double Y)>)p.Select(v => (v[0], v[1])).ToList()).ToList();
        return new ObjectMask(photo, file.Object, file.Description, Rasterize(polygons, file.Height, file.Width));
    }

    /// <summary>
    /// The mask of <paramref name="photo"/> prepared exactly as <see cref="Images.Prepare"/> prepares the photo for
    /// <paramref name="model"/> (shorter side scaled, centre cropped), so that it lies over the prepared photo pixel for
    /// pixel: H x W of the model's input, 1 where at least half of a pixel is object.
    /// </summary>
    public static ObjectMask Prepare(string photo, VisionModel model)
    {
        using var full = Load(photo);
        var image = ImageFiles.Load(Kit.DataPath("images", photo));   // shared with every other load of the photo: not disposed here
        if (image.shape[1] != full.Mask.shape[0] || image.shape[2] != full.Mask.shape[1])
            throw new InvalidDataException($"The mask of {photo} was drawn for {full.Mask.shape[1]} x {full.Mask.shape[0]} pixels, but the photo is " +
                $"{image.shape[2]} x {image.shape[1]}: the photo changed since, so the outline must be drawn again.");
        using var scope = NewDisposeScope();
        var prepared = Images.Prepare(full.Mask.unsqueeze(0), model)[0, 0].cpu();   // the same resize and crop as the photo
        return full with { Mask = prepared.ge(0.5f).to_type(ScalarType.Float32).MoveToOuterDisposeScope() };
    }

    /// <summary>
    /// H x W: 1 on the pixels whose centre lies inside any of <paramref name="polygons"/> (vertices in pixels, x to the
    /// right and y down from the image's top-left corner, so that pixel (row r, column c) is the square from (c, r) to
    /// (c + 1, r + 1)), 0 elsewhere. Inside means the even-odd rule: a ray from the centre crosses the outline an odd
    /// number of times. Several polygons are united.
    /// </summary>
    public static Tensor Rasterize(IReadOnlyList<IReadOnlyList<(double X, double Y)>> polygons, long height, long width)
    {
        if (height < 1 || width < 1)
            throw new ArgumentOutOfRangeException(nameof(height), $"The mask must be at least 1 x 1 pixels; got {width} x {height}.");
        if (polygons.Count == 0 || polygons.Any(p => p.Count < 3))
            throw new ArgumentException("Each polygon needs at least three vertices, and there must be at least one polygon.", nameof(polygons));
        using var scope = NewDisposeScope();
        var y = (arange(height, ScalarType.Float64) + 0.5).unsqueeze(1);   // H x 1: the pixel centres' rows
        var x = (arange(width, ScalarType.Float64) + 0.5).unsqueeze(0);    // 1 x W
        var mask = zeros(height, width, ScalarType.Bool);
        foreach (var polygon in polygons)
        {
            var inside = zeros(height, width, ScalarType.Bool);
            for (int k = 0; k < polygon.Count; k++)   // over the edges; every pixel at once
            {
                var (x1, y1) = polygon[k];
                var (x2, y2) = polygon[(k + 1) % polygon.Count];
                if (y1 == y2)
                    continue;   // a horizontal edge is crossed by no horizontal ray through a centre
                var spans = y.ge(Math.Min(y1, y2)).logical_and(y.lt(Math.Max(y1, y2)));   // H x 1: rows whose centre the edge spans
                var crossingX = x1 + (y - y1) * ((x2 - x1) / (y2 - y1));                   // H x 1: where the edge crosses that row
                inside = inside.logical_xor(spans.logical_and(x.lt(crossingX)));           // H x W: the ray to the right crosses it
            }
            mask = mask.logical_or(inside);
        }
        return mask.to_type(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    static string PathOf(string photo)
    {
        if (string.IsNullOrWhiteSpace(photo) || photo.IndexOfAny(['/', '\\']) >= 0)
            throw new ArgumentException($"Give the photo's file name in data/images/ (\"chelsea.png\"); got \"{photo}\".", nameof(photo));
        return Path.Combine(Folder, Path.GetFileNameWithoutExtension(photo) + ".json");
    }

    static MaskFile Read(string path)
    {
        try
        {
            var file = JsonSerializer.Deserialize<MaskFile>(File.ReadAllText(path), new JsonSerializerOptions { PropertyNameCaseInsensitive = true });
            if (file is null || file.Photo is null || file.Polygons is null || file.Width < 1 || file.Height < 1
                || file.Polygons.Any(p => p.Any(v => v.Length != 2)))
                throw new InvalidDataException("a field is missing or a vertex is not [x, y]");
            return file;
        }
        catch (Exception e) when (e is JsonException or InvalidDataException)
        {
            throw new InvalidDataException($"{Path.GetFullPath(path)} is not a valid mask file ({e.Message}): it needs photo, width, height, object, " +
                "description and polygons (lists of [x, y] vertices).", e);
        }
    }

    sealed record MaskFile(string Photo, int Width, int Height, string Object, string Description, double[][][] Polygons);
}
