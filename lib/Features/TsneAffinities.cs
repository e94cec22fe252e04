using static TorchSharp.torch;

namespace WhatNetworksLearn.Features;

/// <summary>
/// The symmetric affinities p_ij of t-SNE as a sparse matrix in CSR form: row i's entries are
/// <c>Columns[RowStart[i]..RowStart[i+1]]</c> with <c>Values</c> alongside. All values sum to 1.
/// </summary>
public sealed record TsneAffinities(int Count, int[] RowStart, int[] Columns, double[] Values)
{
    /// <summary>p_ij, 0 when j is not stored in row i.</summary>
    public double this[int i, int j]
    {
        get
        {
            int k = Array.IndexOf(Columns, j, RowStart[i], RowStart[i + 1] - RowStart[i]);
            return k < 0 ? 0 : Values[k];
        }
    }
}

/// <summary>t-SNE's affinities: Gaussian conditional probabilities calibrated to the perplexity, then symmetrised.</summary>
public static partial class Tsne
{
    const double PerplexityTolerance = 1e-5; // on the entropy, in nats, as scikit-learn
    const int PerplexitySteps = 100;

    /// <summary>
    /// The symmetric affinities: each point's <paramref name="neighbours"/> nearest neighbours (default
    /// min(N - 1, 3 x perplexity + 1)) get Gaussian conditional probabilities p_j|i calibrated to the perplexity,
    /// then p_ij = (p_j|i + p_i|j) / 2N.
    /// </summary>
    public static TsneAffinities Affinities(Tensor points, double perplexity, int? neighbours = null)
    {
        int n = (int)points.shape[0];
        int k = neighbours ?? Math.Min(n - 1, (int)(3 * perplexity + 1));
        var (indices, distances) = ExactNeighbours.Of(points, k);
        var conditional = new double[n * k];
        Parallel.For(0, n, i => CalibrateRow(distances.AsSpan(i * k, k), perplexity, conditional.AsSpan(i * k, k)));
        return Symmetrise(n, k, indices, conditional);
    }

    /// <summary>
    /// p_j|i for one point: the Gaussian over its neighbours' squared distances whose perplexity, 2^entropy,
    /// is <paramref name="perplexity"/>. The precision is found by bisection, as in scikit-learn.
    /// </summary>
    public static double[] ConditionalProbabilities(double[] squaredDistances, double perplexity)
    {
        var p = new double[squaredDistances.Length];
        CalibrateRow(squaredDistances, perplexity, p);
        return p;
    }

    /// <summary>Fills <paramref name="p"/> with the calibrated p_j|i; returns the precision beta = 1 / (2 sigma^2).</summary>
    internal static double CalibrateRow(ReadOnlySpan<double> squaredDistances, double perplexity, Span<double> p)
    {
        double target = Math.Log(perplexity);
        // Distances are measured from the nearest neighbour: the probabilities are the same, and exp cannot underflow to 0 everywhere.
        double nearest = double.PositiveInfinity;
        foreach (double d in squaredDistances)
            nearest = Math.Min(nearest, d);
        double beta = 1, low = double.NegativeInfinity, high = double.PositiveInfinity;
        for (int step = 0; step < PerplexitySteps; step++)
        {
            double sum = 0;
            for (int j = 0; j < p.Length; j++)
                sum += p[j] = Math.Exp(-beta * (squaredDistances[j] - nearest));
            double weighted = 0;
            for (int j = 0; j < p.Length; j++)
            {
                p[j] /= sum;
                weighted += (squaredDistances[j] - nearest) * p[j];
            }
            double entropy = Math.Log(sum) + beta * weighted;
            double excess = entropy - target;
            if (Math.Abs(excess) <= PerplexityTolerance)
                break;
            if (excess > 0)
            {
                low = beta;
                beta = double.IsPositiveInfinity(high) ? beta * 2 : (beta + high) / 2;
            }
            else
            {
                high = beta;
                beta = double.IsNegativeInfinity(low) ? beta / 2 : (beta + low) / 2;
            }
        }
        return beta;
    }

    /// <summary>P + P^T normalised to sum 1, from each row's k neighbours and conditional probabilities.</summary>
    static TsneAffinities Symmetrise(int n, int k, int[] neighbours, double[] conditional)
    {
        var start = new int[n + 1];
        foreach (int j in neighbours)
            start[j + 1]++;
        for (int i = 0; i < n; i++)
            start[i + 1] += start[i] + k;
        var columns = new int[start[n]];
        var values = new double[start[n]];
        var fill = start[..n];
        for (int i = 0; i < n; i++)
            for (int t = i * k; t < (i + 1) * k; t++)
            {
                int j = neighbours[t];
                columns[fill[i]] = j;
                values[fill[i]++] = conditional[t];
                columns[fill[j]] = i;
                values[fill[j]++] = conditional[t];
            }

        // Sort each row by column and merge the pairs that are neighbours both ways.
        var rowStart = new int[n + 1];
        int m = 0;
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            Array.Sort(columns, values, start[i], start[i + 1] - start[i]);
            rowStart[i] = m;
            for (int t = start[i]; t < start[i + 1]; t++)
            {
                if (m > rowStart[i] && columns[m - 1] == columns[t])
                    values[m - 1] += values[t];
                else
                {
                    columns[m] = columns[t];
                    values[m++] = values[t];
                }
                total += values[t];
            }
        }
        rowStart[n] = m;
        Array.Resize(ref columns, m);
        Array.Resize(ref values, m);
        for (int t = 0; t < m; t++)
            values[t] /= total;
        return new TsneAffinities(n, rowStart, columns, values);
    }
}
