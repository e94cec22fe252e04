using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Attribution;

/// <summary>Settings of <see cref="Rise"/>.</summary>
/// <param name="Masks">Random masks per image: the estimate's noise falls as 1 / √Masks.</param>
/// <param name="GridSize">Cells per side of the coarse random grid each mask is drawn on (s): the blobs are about 1/s of the image.</param>
/// <param name="KeepProbability">The chance that a grid cell shows the image (p).</param>
/// <param name="Seed">Seed of the masks: equal seeds give equal masks, so equal maps.</param>
/// <param name="BatchSize">Masked images per forward pass.</param>
public sealed record RiseOptions(int Masks = 2000, int GridSize = 7, double KeepProbability = 0.5, int Seed = 0, int BatchSize = 200)
{
    public void Validate()
    {
        if (Masks < 1)
            throw new ArgumentOutOfRangeException(nameof(Masks), $"RISE needs at least 1 mask; got {Masks}.");
        if (GridSize < 1)
            throw new ArgumentOutOfRangeException(nameof(GridSize), $"The grid needs at least 1 cell per side; got {GridSize}.");
        if (!(KeepProbability > 0 && KeepProbability <= 1))
            throw new ArgumentOutOfRangeException(nameof(KeepProbability), $"The chance of keeping a cell must be in (0, 1]; got {KeepProbability}.");
        if (BatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(BatchSize), $"The batch size must be at least 1; got {BatchSize}.");
    }
}

/// <summary>
/// RISE (Petsiuk, Das and Saenko, 2018), randomised input sampling: a black-box attribution that needs no gradient,
/// only the model's class probabilities. The image is shown through many random masks M_i (smooth blobs: a coarse
/// random grid of kept and hidden cells, enlarged bilinearly and shifted by a random fraction of a cell), and each
/// pixel's attribution is the probability of the class averaged over the masks, each weighted by how much that mask
/// showed the pixel: S(x) = Σ_i P(class | image ⊙ M_i) M_i(x) / (number of masks × p). A pixel that the class needs
/// is shown in the masks that keep the probability high. Where occlusion hides one patch at a time, RISE hides half
/// the image at random every time, so it sees what the class needs together, at the price of thousands of passes.
/// </summary>
public sealed class Rise(VisionModel model, RiseOptions? options = null) : IAttribution
{
    public RiseOptions Options { get; } = options ?? new RiseOptions();

    public VisionModel Model => model;

    /// <summary>N x C x H x W on the CPU, non-negative, the same value in every channel: each image's RISE map for its target class.</summary>
    public Tensor Attribute(Tensor pixels, Targets targets)
    {
        Options.Validate();
        model.CheckInput(pixels);
        targets.CheckClasses(model, pixels.shape[0]);
        using var masks = Masks(pixels.shape[2], pixels.shape[3]);
        return Estimate(model, pixels, masks, targets, Options.KeepProbability, Options.BatchSize);
    }

    /// <summary>
    /// The options' masks for H x W images: Masks x 1 x H x W in [0,1]. Each is a GridSize x GridSize grid of cells kept
    /// with probability p, enlarged bilinearly to (GridSize + 1) cells of ⌈H / GridSize⌉ x ⌈W / GridSize⌉ pixels, then
    /// cropped to H x W at a random offset within one cell, so the blobs' edges fall anywhere.
    /// </summary>
    public Tensor Masks(long height, long width)
    {
        Options.Validate();
        using var scope = NewDisposeScope();
        using var random = new Generator((ulong)Options.Seed);
        int s = Options.GridSize, count = Options.Masks;
        long cellHeight = (height + s - 1) / s, cellWidth = (width + s - 1) / s;
        var grid = (rand(count, 1, s, s, generator: random) < Options.KeepProbability).to_type(ScalarType.Float32);
        var enlarged = nn.functional.interpolate(grid, [(s + 1) * cellHeight, (s + 1) * cellWidth], mode: InterpolationMode.Bilinear, align_corners: false);
        // One random offset per mask, taken with two gathers (rows, then columns) for the whole batch at once.
        var top = (rand(count, generator: random) * cellHeight).to_type(ScalarType.Int64).clamp_max(cellHeight - 1);
        var left = (rand(count, generator: random) * cellWidth).to_type(ScalarType.Int64).clamp_max(cellWidth - 1);
        var rows = (top.unsqueeze(1) + arange(height)).reshape(count, 1, height, 1).expand(-1, 1, -1, enlarged.shape[3]);
        var columns = (left.unsqueeze(1) + arange(width)).reshape(count, 1, 1, width).expand(-1, 1, height, -1);
        return enlarged.gather(2, rows).gather(3, columns).to(model.Device).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// RISE's estimate for given masks (M x 1 x H x W, in [0,1]): for each image, Σ_i P(target | image ⊙ M_i) M_i / (M p),
    /// N x C x H x W on the CPU. Exposed so a test or an exercise can feed masks of its own.
    /// </summary>
    public static Tensor Weigh(VisionModel model, Tensor pixels, Tensor masks, Targets targets, double keepProbability, int batchSize = 200)
    {
        model.CheckInput(pixels);
        if (masks.dim() != 4 || masks.shape[1] != 1 || masks.shape[2] != pixels.shape[2] || masks.shape[3] != pixels.shape[3])
            throw new ArgumentException($"Expected masks M x 1 x {pixels.shape[2]} x {pixels.shape[3]}; got [{string.Join(", ", masks.shape)}].", nameof(masks));
        targets.CheckClasses(model, pixels.shape[0]);
        return Estimate(model, pixels, masks, targets, keepProbability, batchSize);
    }

    /// <summary><see cref="Weigh"/> on a request already checked.</summary>
    static Tensor Estimate(VisionModel model, Tensor pixels, Tensor masks, Targets targets, double keepProbability, int batchSize)
    {
        using var scope = NewDisposeScope();
        using var mode = model.EvaluationMode();
        var images = pixels.detach().to(ScalarType.Float32, model.Device);
        var onDevice = masks.to(ScalarType.Float32, model.Device);
        long n = images.shape[0], count = onDevice.shape[0];
        var maps = new List<Tensor>();
        using var progress = ProgressDisplay.Start("RISE", (int)(n * count));
        for (long i = 0; i < n; i++)
        {
            var sum = zeros(1, 1, images.shape[2], images.shape[3], device: model.Device);
            for (long start = 0; start < count; start += batchSize)
            {
                using var batchScope = NewDisposeScope();
                var batch = onDevice.narrow(0, start, Math.Min(batchSize, count - start));
                var probabilities = model.Probabilities(images[i].unsqueeze(0) * batch)[.., targets[i]];
                sum.add_((probabilities.reshape(-1, 1, 1, 1) * batch).sum(0, keepdim: true));
                progress.Report((int)(i * count + start + batch.shape[0]));
            }
            maps.Add(sum / (count * keepProbability));
        }
        return cat(maps).expand(-1, images.shape[1], -1, -1).cpu().contiguous().MoveToOuterDisposeScope();
    }
}
