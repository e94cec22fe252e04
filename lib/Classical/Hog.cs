using TorchSharp;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Classical;

/// <summary>How each block's histograms are normalised.</summary>
public enum BlockNorm
{
    /// <summary>L2, then every value clipped at <see cref="HogOptions.ClipThreshold"/>, then L2 again (Dalal and Triggs' best; OpenCV's only choice).</summary>
    L2Hys,
    /// <summary>Plain L2: the block divided by its length.</summary>
    L2,
}

/// <summary>Settings of the HOG descriptor. Defaults are Dalal and Triggs' (and OpenCV's HOGDescriptor's).</summary>
/// <param name="CellSize">Side of a square cell in pixels; it must divide the image's height and width.</param>
/// <param name="BlockCells">Side of a square block in cells (2: blocks of 2 x 2 cells).</param>
/// <param name="BlockStride">Step between two blocks, in cells (1: blocks overlap by all but one cell).</param>
/// <param name="Bins">Orientation bins over 0°–180° (unsigned gradients); bin k is centred on (k + ½)·180°/Bins.</param>
/// <param name="Norm">The block normalisation.</param>
/// <param name="ClipThreshold">L2-Hys clips normalised values at this level so that one strong edge cannot dominate a block.</param>
/// <param name="SpatialInterpolation">Share each pixel's vote between the (up to four) nearest cells of its block, bilinearly,
/// as OpenCV does (trilinear with the orientation split); false: a pixel votes only for its own cell.</param>
/// <param name="GaussianWindow">Weight votes by a Gaussian centred on the block (σ = block side / 4), as Dalal and Triggs and OpenCV do.</param>
/// <param name="NormEpsilon">Added to a block's L2 length before dividing, so flat blocks stay near zero instead of amplifying noise.
/// Null: OpenCV's constant, 0.1 per value of a block on the 0–255 scale, so that descriptors of [0,1] images equal OpenCV's on bytes.</param>
public sealed record HogOptions(int CellSize = 8, int BlockCells = 2, int BlockStride = 1, int Bins = 9,
    BlockNorm Norm = BlockNorm.L2Hys, double ClipThreshold = 0.2, bool SpatialInterpolation = true, bool GaussianWindow = true,
    double? NormEpsilon = null)
{
    /// <summary>Values in one block's histogram: cells per block times bins.</summary>
    public int ValuesPerBlock => BlockCells * BlockCells * Bins;

    /// <summary>The epsilon actually used (see <see cref="NormEpsilon"/>).</summary>
    public double Epsilon => NormEpsilon ?? 0.1 * ValuesPerBlock / 255.0;

    public void Validate()
    {
        foreach (var (value, name) in new[] { (CellSize, nameof(CellSize)), (BlockCells, nameof(BlockCells)), (BlockStride, nameof(BlockStride)) })
            if (value < 1)
                throw new ArgumentOutOfRangeException(name, $"Cell size ({CellSize}), block size ({BlockCells}) and block stride ({BlockStride}) must all be at least 1; {name} is {value}.");
        if (BlockStride > BlockCells)
            throw new ArgumentOutOfRangeException(nameof(BlockStride), $"A block stride of {BlockStride} cells skips cells between blocks of {BlockCells}; use a stride of at most {BlockCells}.");
        if (Bins < 2)
            throw new ArgumentOutOfRangeException(nameof(Bins), $"HOG needs at least 2 orientation bins; got {Bins}.");
        if (!(ClipThreshold > 0) || double.IsInfinity(ClipThreshold))
            throw new ArgumentOutOfRangeException(nameof(ClipThreshold), $"The L2-Hys clip threshold must be a positive number; got {ClipThreshold}.");
        if (NormEpsilon is double e && (!(e >= 0) || double.IsInfinity(e)))
            throw new ArgumentOutOfRangeException(nameof(NormEpsilon), $"The normalisation epsilon must be a finite number ≥ 0; got {e}.");
    }

    /// <summary>Checks that an image of this size splits into whole cells and whole blocks; says how to fix it if not.</summary>
    public void CheckImageSize(long height, long width)
    {
        Validate();
        long blockPixels = (long)BlockCells * CellSize;
        if (height < blockPixels || width < blockPixels)
            throw new ArgumentException($"The image ({height} x {width}) is smaller than one HOG block ({blockPixels} x {blockPixels} pixels: {BlockCells} x {BlockCells} cells of {CellSize}). " +
                "Use a larger image or smaller cells.");
        if (height % CellSize != 0 || width % CellSize != 0)
            throw new ArgumentException($"The cell size {CellSize} does not divide the image size {height} x {width}. " +
                "Choose a cell size that divides both sides, or crop or resize the image.");
        long cellsY = height / CellSize, cellsX = width / CellSize;
        if ((cellsY - BlockCells) % BlockStride != 0 || (cellsX - BlockCells) % BlockStride != 0)
            throw new ArgumentException($"Blocks of {BlockCells} cells with a stride of {BlockStride} do not tile the {cellsY} x {cellsX} cells of the image exactly. " +
                "Change the stride or the image size.");
    }
}

/// <summary>
/// The histogram of oriented gradients (Dalal and Triggs, 2005), written as differentiable tensor operations so that
/// gradients flow from the descriptor back to the pixels: centred differences [-1, 0, 1], magnitude and unsigned
/// orientation, each pixel's magnitude shared linearly between the two nearest orientation bins, votes summed over
/// cells (a convolution, optionally with OpenCV's bilinear cell weights and Gaussian block window), then each block
/// normalised. Takes N x C x H x W; for colour, each pixel uses the channel with the largest gradient (as Dalal and Triggs).
/// The descriptor's order is OpenCV's: blocks column by column (x outer, y inner), inside a block the cells column by
/// column, then the bins, so it can be compared with OpenCV's HOGDescriptor value for value.
/// </summary>
public sealed class Hog : nn.Module<Tensor, Tensor>
{
    /// <summary>Per-pixel weights of a block: (Bins · cells per block) x 1 x block x block, applied per bin as a grouped convolution.</summary>
    readonly Tensor blockKernel;

    public Hog(HogOptions? options = null) : base("Hog")
    {
        Options = options ?? new HogOptions();
        Options.Validate();
        blockKernel = BlockKernel(Options);
        RegisterComponents();
    }

    public HogOptions Options { get; }

    /// <summary>The length of the descriptor of an H x W image.</summary>
    public long DescriptorLength(long height, long width)
    {
        var (blocksY, blocksX) = BlockCount(height, width);
        return blocksY * blocksX * Options.ValuesPerBlock;
    }

    /// <summary>The number of block positions down and across an H x W image.</summary>
    public (long Down, long Across) BlockCount(long height, long width)
    {
        Options.CheckImageSize(height, width);
        return ((height / Options.CellSize - Options.BlockCells) / Options.BlockStride + 1,
                (width / Options.CellSize - Options.BlockCells) / Options.BlockStride + 1);
    }

    /// <summary>The descriptors of a batch: N x C x H x W in, N x <see cref="DescriptorLength"/> out.</summary>
    public override Tensor forward(Tensor pixels)
    {
        using var scope = NewDisposeScope();
        var votes = OrientationVotes(pixels);
        var (blocksY, blocksX) = BlockCount(pixels.shape[2], pixels.shape[3]);
        int cells = Options.BlockCells * Options.BlockCells, bins = Options.Bins;
        var stride = Options.BlockStride * Options.CellSize;
        // N x (bins · cells) x blocksY x blocksX; output channel = bin · cells + cell.
        var blocks = nn.functional.conv2d(votes, blockKernel.to(votes.dtype), strides: [stride, stride], groups: bins);
        blocks = blocks.reshape(-1, bins, cells, blocksY, blocksX).permute(0, 4, 3, 2, 1)   // N x blocksX x blocksY x cells x bins
            .reshape(-1, blocksX * blocksY, cells * bins);
        return Normalize(blocks).flatten(1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Each pixel's vote: N x Bins x H x W, its gradient magnitude shared between the two orientation bins whose centres
    /// are nearest its orientation (weights falling linearly with the angular distance, wrapping around at 180°).
    /// </summary>
    public Tensor OrientationVotes(Tensor pixels)
    {
        CheckPixels(pixels);
        using var scope = NewDisposeScope();
        var (magnitude, orientation) = Gradients(pixels);
        int bins = Options.Bins;
        var position = orientation * (bins / Math.PI) - 0.5;   // in bin units, in [-0.5, bins - 0.5]; bin k is centred at k
        var lower = position.detach().floor();
        var upperShare = position - lower;
        var lowerBin = lower.remainder(bins).to(ScalarType.Int64).unsqueeze(1);
        var upperBin = (lower + 1).remainder(bins).to(ScalarType.Int64).unsqueeze(1);
        var votes = zeros(magnitude.shape[0], bins, magnitude.shape[1], magnitude.shape[2], dtype: magnitude.dtype, device: magnitude.device)
            .scatter_add(1, lowerBin, (magnitude * (1 - upperShare)).unsqueeze(1))
            .scatter_add(1, upperBin, (magnitude * upperShare).unsqueeze(1));
        return votes.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Gradient magnitude and unsigned orientation in [0, π) (radians, from the x axis towards y = down), N x H x W each.
    /// Centred differences [-1, 0, 1] with mirrored borders (so border gradients across the edge are 0, as OpenCV);
    /// colour images keep, per pixel, the channel with the largest gradient (the first of equals). Where the gradient is exactly 0 the
    /// magnitude is 0 and no gradient flows (the square root and the angle have no derivative there).
    /// </summary>
    public static (Tensor Magnitude, Tensor Orientation) Gradients(Tensor pixels)
    {
        CheckPixels(pixels);
        using var scope = NewDisposeScope();
        var padded = nn.functional.pad(pixels, [1, 1, 1, 1], PaddingModes.Reflect);
        var dx = padded[.., .., 1..^1, 2..] - padded[.., .., 1..^1, ..^2];
        var dy = padded[.., .., 2.., 1..^1] - padded[.., .., ..^2, 1..^1];
        var squared = dx.square() + dy.square();
        if (pixels.shape[1] > 1)
        {
            // Ties (equal up to float rounding, common on 8-bit images) go to the first channel, as OpenCV does for the
            // channels in the order they sit in memory.
            var detached = squared.detach();
            var top = detached.ge(detached.amax([1], keepdim: true) * (1 - 1e-5)).to(ScalarType.Int32);
            var strongest = top.argmax(1, keepdim: true);
            dx = dx.gather(1, strongest);
            dy = dy.gather(1, strongest);
            squared = squared.gather(1, strongest);
        }
        dx = dx.squeeze(1);
        dy = dy.squeeze(1);
        squared = squared.squeeze(1);
        // 1 where the gradient is exactly 0: there the square root and the angle get a stand-in value (and no gradient).
        var flat = squared.detach().eq(0).to(squared.dtype);
        var magnitude = (squared + flat).sqrt() * (1 - flat);
        var orientation = atan2(dy, dx + flat).remainder(Math.PI);
        return (magnitude.MoveToOuterDisposeScope(), orientation.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The plain histogram of each cell, N x cellsY x cellsX x Bins: the votes of its pixels summed, before any block
    /// weighting or normalisation. What HOG glyphs draw.
    /// </summary>
    public Tensor CellHistograms(Tensor pixels)
    {
        Options.CheckImageSize(pixels.shape[2], pixels.shape[3]);
        using var scope = NewDisposeScope();
        int size = Options.CellSize;
        var sums = nn.functional.avg_pool2d(OrientationVotes(pixels), [size, size], [size, size]) * (size * size);
        return sums.permute(0, 2, 3, 1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The options' block normalisation, L2-Hys or L2, over the last dimension of <paramref name="blocks"/> (each row one
    /// block's histograms, its cells one after another): what <see cref="forward"/> applies to every block.
    /// </summary>
    public Tensor Normalize(Tensor blocks)
    {
        var normalized = blocks / (blocks.square().sum(dim: -1, keepdim: true).sqrt() + Options.Epsilon);
        if (Options.Norm == BlockNorm.L2)
            return normalized;
        var clipped = normalized.clamp_max(Options.ClipThreshold);
        return clipped / (clipped.square().sum(dim: -1, keepdim: true).sqrt() + 1e-3);
    }

    /// <summary>
    /// Weights of every pixel of a block for every cell of the block (cells column by column), repeated for each bin:
    /// the product of a horizontal and a vertical cell weight (bilinear "hat" around each cell centre, or the cell's own
    /// pixels only), times the Gaussian window.
    /// </summary>
    static Tensor BlockKernel(HogOptions options)
    {
        using var scope = NewDisposeScope();
        int cells = options.BlockCells, size = options.CellSize, side = cells * size;
        var pixel = arange(side, dtype: ScalarType.Float32);
        var cell = arange(cells, dtype: ScalarType.Float32).unsqueeze(1);   // cells x 1
        var along = options.SpatialInterpolation
            ? (1 - ((pixel + 0.5f) / size - 0.5f - cell).abs()).clamp_min(0)   // OpenCV: cell coordinate of the pixel centre
            : (pixel / size).floor().eq(cell).to(ScalarType.Float32);          // cells x side
        // kernel[cx, cy, y, x] = along[cy, y] · along[cx, x]
        var kernel = along.reshape(1, cells, side, 1) * along.reshape(cells, 1, 1, side);
        if (options.GaussianWindow)
        {
            double sigma = side / 4.0;
            var offset = (pixel - side / 2f).square();   // OpenCV measures from the block's centre line, pixel index minus half the side
            var window = (-(offset.unsqueeze(1) + offset.unsqueeze(0)) / (float)(2 * sigma * sigma)).exp();
            kernel = kernel * window;
        }
        kernel = kernel.reshape(1, cells * cells, side, side).expand(options.Bins, -1, -1, -1)
            .reshape(options.Bins * cells * cells, 1, side, side).contiguous();
        return kernel.MoveToOuterDisposeScope();
    }

    static void CheckPixels(Tensor pixels)
    {
        if (pixels.dim() != 4 || pixels.shape[1] < 1)
            throw new ArgumentException($"HOG expects a batch of images N x C x H x W; got [{string.Join(", ", pixels.shape)}]. Add a batch dimension with unsqueeze(0) for a single image.", nameof(pixels));
        if (!pixels.is_floating_point())
            throw new ArgumentException($"HOG expects floating-point pixels; got {pixels.dtype}. Divide bytes by 255.", nameof(pixels));
    }
}
