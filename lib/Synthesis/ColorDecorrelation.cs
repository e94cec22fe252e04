using static TorchSharp.torch;

namespace WhatNetworksLearn.Synthesis;

/// <summary>
/// A fixed 3 x 3 matrix that turns three uncorrelated numbers per pixel into correlated red, green and blue
/// (notebook 09). In photos the three colours rise and fall together: most of the variation is brightness, a little is
/// warm against cold, less still is green against magenta. Optimising those three directions, each scaled by how much
/// photos vary along it, instead of R, G and B, keeps an optimised image's colours as photos have them; without it
/// the optimiser is free to put strong, unnatural colour noise everywhere.
/// </summary>
/// <remarks>
/// <para>The matrix is U √S, from the eigen-decomposition U S Uᵀ of the colour covariance of the kit's four colour
/// photographs (data/images: chelsea, coffee, astronaut, rocket; each photo weighs the same, pixels in [0,1]), divided
/// by the length of its longest column so that the brightness direction has length 1. Its columns are the three
/// directions, largest first; M Mᵀ is the covariance up to that one factor. <see cref="FromPhotos"/> computes it, and
/// a test checks that it still gives these numbers. Lucid (Olah et al., 2017) uses the same construction on ImageNet's
/// colours; its published matrix is close to this one (the test compares them).</para>
/// </remarks>
public static class ColorDecorrelation
{
    /// <summary>The photos <see cref="Matrix"/> was computed from, in data/images.</summary>
    public static readonly IReadOnlyList<string> Photos = ["chelsea.png", "coffee.png", "astronaut.png", "rocket.jpg"];

    /// <summary>Rows: red, green, blue; columns: the decorrelated directions, the one photos vary most along first.</summary>
    public static readonly double[,] Matrix =
    {
        { 0.668075, 0.313102, 0.032246 },
        { 0.580186, -0.093681, -0.079533 },
        { 0.465898, -0.332311, 0.052803 },
    };

    /// <summary>
    /// U √S of the colour covariance of <paramref name="photos"/> (each 3 x H x W, pixels in [0,1], each weighing the same),
    /// divided by the length of its longest column. Columns are sorted by falling variance; each one's red entry is made
    /// positive (an eigenvector's sign is arbitrary).
    /// </summary>
    public static double[,] FromPhotos(IEnumerable<Tensor> photos)
    {
        using var scope = NewDisposeScope();
        var moments = new List<Tensor>();
        var means = new List<Tensor>();
        foreach (var photo in photos)
        {
            if (photo.dim() != 3 || photo.shape[0] != 3)
                throw new ArgumentException($"Expected colour photos 3 x H x W; got [{string.Join(", ", photo.shape)}].", nameof(photos));
            var pixels = photo.to_type(ScalarType.Float64).reshape(3, -1);
            moments.Add(pixels.matmul(pixels.t()) / pixels.shape[1]);
            means.Add(pixels.mean([1]));
        }
        if (moments.Count == 0)
            throw new ArgumentException("Give at least one photo.", nameof(photos));
        var mean = stack(means).mean([0]);
        var covariance = stack(moments).mean([0]) - mean.outer(mean);
        var (variances, directions) = linalg.eigh(covariance);          // ascending
        var order = variances.argsort(descending: true);
        var root = directions.index_select(1, order) * variances.index_select(0, order).clamp_min(0).sqrt();
        root = root / root.square().sum([0]).sqrt().max();
        var values = root.contiguous().data<double>().ToArray();
        var matrix = new double[3, 3];
        for (int column = 0; column < 3; column++)
        {
            double sign = values[column] < 0 ? -1 : 1;   // row 0 (red) of this column
            for (int row = 0; row < 3; row++)
                matrix[row, column] = sign * values[row * 3 + column];
        }
        return matrix;
    }

    /// <summary>Images in the decorrelated directions (N x 3 x H x W) to red, green and blue: M applied to every pixel. Differentiable.</summary>
    public static Tensor ToRgb(Tensor images) => Apply(images, Matrix);

    /// <summary>The inverse of <see cref="ToRgb"/>: red, green and blue (N x 3 x H x W) to the decorrelated directions.</summary>
    public static Tensor FromRgb(Tensor images) => Apply(images, Inverse);

    static readonly double[,] Inverse = Invert(Matrix);

    static Tensor Apply(Tensor images, double[,] matrix)
    {
        if (images.dim() != 4 || images.shape[1] != 3)
            throw new ArgumentException($"Colour decorrelation works on colour images N x 3 x H x W; got [{string.Join(", ", images.shape)}].", nameof(images));
        using var scope = NewDisposeScope();
        var m = tensor(matrix.Cast<double>().ToArray(), device: images.device).reshape(3, 3).to_type(images.dtype);
        return einsum("ij,njhw->nihw", m, images).MoveToOuterDisposeScope();
    }

    /// <summary>The inverse of a 3 x 3 matrix by cofactors (the transposed cofactor matrix over the determinant).</summary>
    static double[,] Invert(double[,] m)
    {
        var inverse = new double[3, 3];
        for (int row = 0; row < 3; row++)
            for (int column = 0; column < 3; column++)
            {
                int r1 = (column + 1) % 3, r2 = (column + 2) % 3, c1 = (row + 1) % 3, c2 = (row + 2) % 3;
                inverse[row, column] = m[r1, c1] * m[r2, c2] - m[r1, c2] * m[r2, c1];
            }
        double determinant = m[0, 0] * inverse[0, 0] + m[0, 1] * inverse[1, 0] + m[0, 2] * inverse[2, 0];
        for (int row = 0; row < 3; row++)
            for (int column = 0; column < 3; column++)
                inverse[row, column] /= determinant;
        return inverse;
    }
}
