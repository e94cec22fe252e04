using static TorchSharp.torch;

namespace WhatNetworksLearn.Features;

/// <summary>How far an embedding can be trusted to keep neighbours neighbours.</summary>
public static class Trustworthiness
{
    /// <summary>
    /// Trustworthiness of an embedding (Venna and Kaski; as scikit-learn's <c>trustworthiness</c>): 1 when each point's
    /// <paramref name="k"/> nearest neighbours in the embedding are also among its k nearest in the original space,
    /// lower when the embedding brings in points that were far. <paramref name="k"/> must be below N / 2.
    /// </summary>
    public static double Of(Tensor points, Tensor embedding, int k = 5)
    {
        long n = points.shape[0];
        if (embedding.shape[0] != n)
            throw new ArgumentException($"The embedding has {embedding.shape[0]} rows for {n} points.", nameof(embedding));
        if (k < 1 || k >= n / 2.0)
            throw new ArgumentOutOfRangeException(nameof(k), $"k must be at least 1 and less than N / 2 = {n / 2.0}; got {k}.");
        var (near, _) = ExactNeighbours.Of(embedding, k);

        using var scope = NewDisposeScope();
        var x = points.detach().cpu().reshape(n, -1).to_type(ScalarType.Float64);
        x = (x - x.mean([0], keepdim: true)).contiguous();
        int count = (int)n;
        var penalties = new long[count];
        ExactNeighbours.ForEachRowOfScores<double>(x, 2_000_000, (i, scores, offset) =>
        {
            var row = scores.AsSpan(offset, count);
            long penalty = 0;
            for (int t = 0; t < k; t++)
            {
                // r(i, j): the rank of the embedded neighbour j among i's neighbours in the original space, 1 = nearest
                double distance = row[near[i * k + t]];
                int rank = 1;
                for (int l = 0; l < count; l++)
                    if (row[l] < distance && l != i)
                        rank++;
                penalty += Math.Max(0, rank - k);
            }
            penalties[i] = penalty;
        });
        return 1 - penalties.Sum() * 2.0 / (n * k * (2.0 * n - 3.0 * k - 1));
    }

    /// <summary>Trustworthiness of an N x 2 embedding as returned in <see cref="TsneResult.Embedding"/>.</summary>
    public static double Of(Tensor points, float[,] embedding, int k = 5)
    {
        using var y = tensor(embedding);
        return Of(points, y, k);
    }
}
