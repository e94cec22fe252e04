using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Attribution;

/// <summary>Settings of an occlusion experiment. Sizes are in the model's input pixels.</summary>
/// <param name="PatchSize">Side of the square patch that hides part of the image.</param>
/// <param name="Stride">Step between two patch positions.</param>
/// <param name="Fill">Value the hidden pixels take (0.5: mid grey).</param>
/// <param name="BatchSize">Occluded images per forward pass.</param>
public sealed record OcclusionOptions(int PatchSize = 8, int Stride = 4, float Fill = 0.5f, int BatchSize = 64)
{
    public void Validate(long height, long width)
    {
        if (PatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(PatchSize), $"The patch must be at least 1 pixel wide; got {PatchSize}.");
        if (Stride < 1)
            throw new ArgumentOutOfRangeException(nameof(Stride), $"The stride must be at least 1 pixel; got {Stride}.");
        if (BatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(BatchSize), $"The batch size must be at least 1; got {BatchSize}.");
        if (PatchSize > height || PatchSize > width)
            throw new ArgumentOutOfRangeException(nameof(PatchSize), $"The patch ({PatchSize} pixels) is larger than the image ({height} x {width}).");
        if (Fill is < 0 or > 1)
            throw new ArgumentOutOfRangeException(nameof(Fill), "The fill value is a pixel value and must lie in [0,1].");
    }
}

/// <summary>What occlusion found for one image and class.</summary>
/// <param name="Probabilities">Rows x columns of patch positions: the class probability with the patch at each position.</param>
/// <param name="PixelMap">H x W: for each pixel, the mean probability over the patch positions that hid it.</param>
/// <param name="BaseProbability">The class probability of the intact image.</param>
/// <param name="TargetClass">The class whose probability was watched.</param>
public sealed record OcclusionResult(Tensor Probabilities, Tensor PixelMap, float BaseProbability, int TargetClass) : IDisposable
{
    public void Dispose()
    {
        Probabilities.Dispose();
        PixelMap.Dispose();
    }
}

/// <summary>What occlusion without a class found for one image (<see cref="Occlusion.RunFeatureChange"/>).</summary>
/// <param name="Changes">Rows x columns of patch positions: 1 − the cosine similarity of the output with the patch there and the intact output.</param>
/// <param name="PixelMap">H x W: for each pixel, the mean change over the patch positions that hid it (0 where none did).</param>
public sealed record FeatureOcclusionResult(Tensor Changes, Tensor PixelMap) : IDisposable
{
    public void Dispose()
    {
        Changes.Dispose();
        PixelMap.Dispose();
    }
}

/// <summary>
/// Saliency by occlusion (Zeiler and Fergus): hide one square of the image at a time and watch the probability of
/// a class. Where hiding drops the probability most, the network was looking. Without a class (a feature trunk),
/// <see cref="RunFeatureChange"/> watches how far the whole output moves instead.
/// </summary>
public sealed class Occlusion(VisionModel model, OcclusionOptions? options = null) : IAttribution
{
    public OcclusionOptions Options { get; } = options ?? new OcclusionOptions();

    public VisionModel Model => model;

    /// <summary>Runs the experiment on one image (C x H x W or 1 x C x H x W, pixels in [0,1]).</summary>
    public OcclusionResult Run(Tensor image, int targetClass)
    {
        model.CheckClass(targetClass);
        using var scope = NewDisposeScope();
        var pixels = Batch(image);
        float baseProbability;
        using (no_grad())
            baseProbability = ClassProbability(model.Module.forward(pixels), targetClass).item<float>();
        var (probabilities, pixelMap) = Scan(pixels, output => ClassProbability(output, targetClass), baseProbability);
        return new OcclusionResult(probabilities.MoveToOuterDisposeScope(), pixelMap.MoveToOuterDisposeScope(), baseProbability, targetClass);
    }

    /// <summary>
    /// Occlusion without a class: how far the model's output (its features, flattened per image) moves from the intact
    /// image's when the patch hides each square, measured as 1 − the cosine similarity of the two outputs. 0: the output
    /// points the same way as the intact one; 1: it is orthogonal to it (for features that are never negative, such as
    /// those after a ReLU, the largest possible change). The cosine ignores the output's length, so a patch that only makes
    /// every feature weaker or stronger by the same factor changes nothing. Works for any model, a feature trunk included.
    /// </summary>
    public FeatureOcclusionResult RunFeatureChange(Tensor image)
    {
        using var scope = NewDisposeScope();
        var pixels = Batch(image);
        Tensor intact;
        using (no_grad())
            intact = model.Module.forward(pixels).flatten(1).to_type(ScalarType.Float32);
        if (!(intact.norm().item<float>() > 0))
            throw new ArgumentException($"{model.Name}'s output for the intact image is zero everywhere, so it has no direction to move away from: " +
                "the cosine similarity is undefined. Check the image (an all-black image gives zero features in many networks).", nameof(image));
        var (changes, pixelMap) = Scan(pixels,
            output => 1 - nn.functional.cosine_similarity(output.flatten(1).to_type(ScalarType.Float32), intact, dim: 1, eps: 1e-12), 0f);
        return new FeatureOcclusionResult(changes.MoveToOuterDisposeScope(), pixelMap.MoveToOuterDisposeScope());
    }

    /// <summary>One image as a checked 1 x C x H x W batch on the model's device, with the options checked against its size.</summary>
    Tensor Batch(Tensor image)
    {
        var pixels = image.dim() == 3 ? image.unsqueeze(0) : image;
        model.CheckInput(pixels);
        if (pixels.shape[0] != 1)
            throw new ArgumentException($"Occlusion explains one image at a time; got a batch of {pixels.shape[0]}.", nameof(image));
        Options.Validate(pixels.shape[2], pixels.shape[3]);
        return pixels.to(model.Device);
    }

    static Tensor ClassProbability(Tensor output, int targetClass) =>
        nn.functional.softmax(output, 1)[.., targetClass].to_type(ScalarType.Float32);

    /// <summary>
    /// The scan both experiments share: the occluded copies go through the model in batches of
    /// <see cref="OcclusionOptions.BatchSize"/>, and <paramref name="score"/> turns the model's output for a batch into one
    /// number per copy. Returns the scores per patch position (rows x columns) and, per pixel, the mean score of the
    /// positions that hid it (<paramref name="intactScore"/> where no position reached), both on the CPU.
    /// </summary>
    (Tensor PerPosition, Tensor PixelMap) Scan(Tensor pixels, Func<Tensor, Tensor> score, float intactScore)
    {
        using var scope = NewDisposeScope();
        long height = pixels.shape[2], width = pixels.shape[3];
        int rows = PositionCount(height, Options.PatchSize, Options.Stride), columns = PositionCount(width, Options.PatchSize, Options.Stride);
        int positions = rows * columns;
        var scores = empty(positions, device: model.Device);
        var scoreSum = zeros(height, width, device: model.Device);   // per pixel, over the patches that hid it
        var coverage = zeros(height, width, device: model.Device);
        using (var progress = ProgressDisplay.Start("Occlusion", positions))
        using (no_grad())
        {
            for (int start = 0; start < positions; start += Options.BatchSize)
            {
                using var batchScope = NewDisposeScope();
                int size = Math.Min(Options.BatchSize, positions - start);
                var mask = PatchMasks(height, width, Options.PatchSize, Options.Stride, start, size, model.Device);   // B x H x W
                var occluded = pixels * (1 - mask.unsqueeze(1)) + Options.Fill * mask.unsqueeze(1);                  // B x C x H x W
                var s = score(model.Module.forward(occluded));
                scores.narrow(0, start, size).copy_(s);
                scoreSum.add_((mask * s.reshape(-1, 1, 1)).sum(dim: 0));   // dim named: a bare 0 would pick the ScalarType overload
                coverage.add_(mask.sum(dim: 0));
                progress.Report(start + size);
            }
        }
        // Pixels no patch position reached (at the right and bottom edges when the stride does not divide evenly) keep the intact score.
        var pixelMap = where(coverage.gt(0), scoreSum / coverage.clamp_min(1), full_like(coverage, intactScore));
        return (scores.reshape(rows, columns).cpu().MoveToOuterDisposeScope(), pixelMap.cpu().MoveToOuterDisposeScope());
    }

    /// <summary>
    /// N x C x H x W: for each image and its target class, how much hiding each pixel lowers the class probability
    /// (the intact probability minus <see cref="OcclusionResult.PixelMap"/>), the same for every channel of the pixel,
    /// since the patch hides them together. Negative where hiding a pixel raises the probability.
    /// </summary>
    public Tensor Attribute(Tensor pixels, Targets targets)
    {
        model.CheckInput(pixels);
        targets.CheckClasses(model, pixels.shape[0]);
        using var scope = NewDisposeScope();
        var maps = new List<Tensor>();
        for (long i = 0; i < pixels.shape[0]; i++)
        {
            using var result = Run(pixels[i], targets[i]);
            maps.Add(result.BaseProbability - result.PixelMap);
        }
        return stack(maps).unsqueeze(1).expand(-1, pixels.shape[1], -1, -1).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// H x W: the values of <paramref name="perPosition"/> (rows x columns of patch positions, as
    /// <see cref="OcclusionResult.Probabilities"/> or <see cref="FeatureOcclusionResult.Changes"/>) on the image's own
    /// grid, so that a figure of them lines up with the image. Each position's value lands on the pixel at the patch's
    /// centre (row top + ⌊patch / 2⌋, column left + ⌊patch / 2⌋) and fills the stride × stride block of pixels around it,
    /// so the blocks of neighbouring positions tile the image without overlap. Pixels that no patch is centred near (a
    /// border about half a patch wide) are NaN: no value was measured there, and <see cref="Rendering.Plot.HeatMap"/>
    /// draws them grey.
    /// </summary>
    public Tensor OnImageGrid(Tensor perPosition, long height, long width) => OnImageGrid(perPosition, height, width, Options.PatchSize, Options.Stride);

    internal static Tensor OnImageGrid(Tensor perPosition, long height, long width, int patch, int stride)
    {
        int rows = PositionCount(height, patch, stride), columns = PositionCount(width, patch, stride);
        if (perPosition.dim() != 2 || perPosition.shape[0] != rows || perPosition.shape[1] != columns)
            throw new ArgumentException($"Expected {rows} x {columns} values, one per patch position of a {patch}-pixel patch moved by {stride} over " +
                $"{height} x {width} pixels; got [{string.Join(", ", perPosition.shape)}].", nameof(perPosition));
        using var scope = NewDisposeScope();
        // The position whose block holds pixel y: its centre r·stride + ⌊patch/2⌋ lies within [y − ⌊stride/2⌋, y − ⌊stride/2⌋ + stride).
        Tensor Position(long size) => (arange(size) - patch / 2 + stride / 2).div(stride, rounding_mode: RoundingMode.floor);
        var row = Position(height);
        var column = Position(width);
        var rowInside = row.ge(0).logical_and(row.lt(rows));
        var columnInside = column.ge(0).logical_and(column.lt(columns));
        var values = perPosition.detach().cpu().to_type(ScalarType.Float32)
            .index_select(0, row.clamp(0, rows - 1)).index_select(1, column.clamp(0, columns - 1));
        var inside = rowInside.unsqueeze(1).logical_and(columnInside.unsqueeze(0));
        return where(inside, values, full_like(values, float.NaN)).MoveToOuterDisposeScope();
    }

    internal static int PositionCount(long size, int patch, int stride) => (int)((size - patch) / stride + 1);

    /// <summary>
    /// The H x W masks (1 inside the patch) of <paramref name="count"/> patch positions from <paramref name="first"/> on,
    /// positions numbered row by row.
    /// </summary>
    internal static Tensor PatchMasks(long height, long width, int patch, int stride, int first, int count, Device device)
    {
        using var scope = NewDisposeScope();
        int columns = PositionCount(width, patch, stride);
        var position = arange(first, first + count, device: device);
        var top = position.div(columns, rounding_mode: RoundingMode.floor) * stride;   // the row of patch positions
        var left = (position % columns) * stride;
        var rows = arange(height, device: device).unsqueeze(0);   // 1 x H
        var cols = arange(width, device: device).unsqueeze(0);    // 1 x W
        var inRow = rows.ge(top.unsqueeze(1)).logical_and(rows.lt(top.unsqueeze(1) + patch));     // B x H
        var inColumn = cols.ge(left.unsqueeze(1)).logical_and(cols.lt(left.unsqueeze(1) + patch)); // B x W
        return inRow.unsqueeze(2).logical_and(inColumn.unsqueeze(1)).to_type(ScalarType.Float32).MoveToOuterDisposeScope();
    }
}
