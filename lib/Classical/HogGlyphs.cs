using static TorchSharp.torch;

namespace WhatNetworksLearn.Classical;

/// <summary>
/// The usual picture of a HOG descriptor: in each cell a star of lines, one per orientation bin, drawn along the edge
/// direction the bin stands for (perpendicular to its gradient) and as bright as the bin is full. Drawn with tensor
/// operations: one small anti-aliased line stencil per bin, weighted by the histograms and tiled over the cells.
/// </summary>
public static class HogGlyphs
{
    /// <summary>
    /// Renders cell histograms (cellsY x cellsX x Bins, as <see cref="Hog.CellHistograms"/> gives for one image) into a
    /// 1 x (cellsY · <paramref name="cellPixels"/>) x (cellsX · <paramref name="cellPixels"/>) picture in [0,1]. A bin
    /// equal to <paramref name="scale"/> draws a white line; null scales by the fullest bin. Give two pictures the same
    /// scale to compare them (before and after an attack). <paramref name="lineWidth"/> pixels wide lines (soft-edged)
    /// keep large glyphs readable when the figure shrinks them.
    /// </summary>
    public static Tensor Render(Tensor cellHistograms, int cellPixels = 16, double? scale = null, double lineWidth = 1)
    {
        if (cellHistograms.dim() != 3)
            throw new ArgumentException($"Expected the cell histograms of one image, cellsY x cellsX x bins; got [{string.Join(", ", cellHistograms.shape)}]. " +
                "Take one image of a batch, e.g. hog.CellHistograms(images)[0].", nameof(cellHistograms));
        if (cellPixels < 3)
            throw new ArgumentOutOfRangeException(nameof(cellPixels), $"A glyph needs at least 3 pixels per cell to draw lines; got {cellPixels}.");
        if (scale is double s && !(s > 0))
            throw new ArgumentOutOfRangeException(nameof(scale), $"The scale must be positive; got {s}.");
        if (!(lineWidth >= 1 && lineWidth < cellPixels))
            throw new ArgumentOutOfRangeException(nameof(lineWidth), $"The lines must be from 1 pixel wide to less than a cell ({cellPixels} pixels); got {lineWidth}.");
        using var scope = NewDisposeScope();
        var histograms = cellHistograms.detach().cpu().to(ScalarType.Float32);
        long cellsY = histograms.shape[0], cellsX = histograms.shape[1];
        int bins = (int)histograms.shape[2];
        var full = scale ?? Math.Max(histograms.max().item<float>(), 1e-12f);
        var glyph = einsum("yxb,bij->yixj", histograms / (float)full, Stencils(bins, cellPixels, lineWidth));
        return glyph.reshape(1, cellsY * cellPixels, cellsX * cellPixels).clamp(0, 1).MoveToOuterDisposeScope();
    }

    /// <summary>Glyphs of one image (C x H x W or 1 x C x H x W) with <paramref name="hog"/>'s cells and bins.</summary>
    public static Tensor Render(Hog hog, Tensor image, int cellPixels = 16, double? scale = null, double lineWidth = 1)
    {
        using var scope = NewDisposeScope();
        var batch = image.dim() == 3 ? image.unsqueeze(0) : image;
        if (batch.shape[0] != 1)
            throw new ArgumentException($"Expected one image; got a batch of {batch.shape[0]}. Index one image first.", nameof(image));
        using var noGrad = no_grad();
        return Render(hog.CellHistograms(batch)[0], cellPixels, scale, lineWidth).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Bins x size x size: for bin k a line through the cell's centre along the edge direction of the bin's gradient angle
    /// (k + ½)·180°/bins, <paramref name="width"/> pixels wide with soft sides, stopping half a pixel short of the cell's border.
    /// </summary>
    static Tensor Stencils(int bins, int size, double width)
    {
        var angle = (arange(bins, dtype: ScalarType.Float32) + 0.5f) * (float)(Math.PI / bins);
        var cos = angle.cos().reshape(bins, 1, 1);
        var sin = angle.sin().reshape(bins, 1, 1);
        var offset = arange(size, dtype: ScalarType.Float32) - (size - 1) / 2f;
        var u = offset.reshape(1, 1, size);   // x, to the right
        var v = offset.reshape(1, size, 1);   // y, downwards
        var across = (u * cos + v * sin).abs();   // distance from the line (along the gradient)
        var along = (v * cos - u * sin).abs();    // position on the line (along the edge)
        return (((float)width + 1) / 2 - across).clamp(0, 1) * (size / 2f - along).clamp(0, 1);
    }
}
