namespace WhatNetworksLearn.Features;

/// <summary>The gradient of t-SNE's objective, KL(P || Q), exactly or with Barnes-Hut repulsions, and the KL divergence itself.</summary>
public static partial class Tsne
{
    const int ParallelBlock = 64;

    /// <summary>Per-point buffers the gradient reuses between iterations.</summary>
    sealed class Workspace(int n)
    {
        public readonly double[] Repulsion = new double[2 * n];
        public readonly double[] Normaliser = new double[n];
        public readonly double[] Kl = new double[n];
        public readonly TsneTree Tree = new();
    }

    /// <summary>
    /// The exact gradient of KL(P || Q) with respect to the embedding <paramref name="y"/> (x0, y0, x1, y1, ...),
    /// O(N^2): dC/dy_i = 4 sum_j (a p_ij - q_ij) (1 + |y_i - y_j|^2)^-1 (y_i - y_j), a the exaggeration.
    /// </summary>
    public static double[] ExactGradient(TsneAffinities p, double[] y, double exaggeration = 1)
    {
        var gradient = new double[y.Length];
        Gradient(p, y, gradient, exaggeration, theta: null, computeKl: false, new Workspace(p.Count));
        return gradient;
    }

    /// <summary>The same gradient with the repulsions approximated by Barnes-Hut (<paramref name="theta"/> = 0 is exact).</summary>
    public static double[] BarnesHutGradient(TsneAffinities p, double[] y, double theta = 0.5, double exaggeration = 1)
    {
        var gradient = new double[y.Length];
        Gradient(p, y, gradient, exaggeration, theta, computeKl: false, new Workspace(p.Count));
        return gradient;
    }

    /// <summary>KL(P || Q) = sum p_ij log(p_ij / q_ij), exactly, for the embedding <paramref name="y"/> (x0, y0, x1, y1, ...).</summary>
    public static double KlDivergence(TsneAffinities p, double[] y) =>
        Gradient(p, y, new double[y.Length], 1, theta: null, computeKl: true, new Workspace(p.Count));

    /// <summary>
    /// Fills <paramref name="gradient"/>; returns KL(P || Q) when <paramref name="computeKl"/> (else NaN).
    /// theta null: exact repulsions. The KL uses the unexaggerated P, and the exact normalisation up to
    /// <see cref="ExactKlMaxPoints"/> points, the Barnes-Hut one above (as scikit-learn).
    /// </summary>
    static double Gradient(TsneAffinities p, double[] y, double[] gradient, double exaggeration, double? theta, bool computeKl, Workspace work)
    {
        int n = p.Count;
        var repulsion = work.Repulsion;
        var normaliser = work.Normaliser;
        if (theta is double t)
        {
            var tree = work.Tree;
            tree.Build(y);
            double squaredTheta = t * t;
            ForBlocks(n, (from, to) =>
            {
                for (int position = from; position < to; position++)
                {
                    int i = tree.PointAt(position);
                    normaliser[i] = tree.Repulsion(position, squaredTheta, out repulsion[2 * i], out repulsion[2 * i + 1]);
                }
            });
        }
        else
        {
            ExactRepulsion(y, repulsion, normaliser);
        }
        double z = Math.Max(Sum(normaliser), double.Epsilon);
        double zKl = computeKl && theta is not null && n <= ExactKlMaxPoints ? ExactNormaliser(y, normaliser) : z;

        // Attractions over the sparse P, and the KL terms p_ij log(p_ij Z / w_ij) on the way.
        var rowStart = p.RowStart;
        var columns = p.Columns;
        var values = p.Values;
        var kl = work.Kl;
        ForBlocks(n, (from, to) =>
        {
            for (int i = from; i < to; i++)
            {
                double xi = y[2 * i], yi = y[2 * i + 1], ax = 0, ay = 0, terms = 0;
                for (int e = rowStart[i]; e < rowStart[i + 1]; e++)
                {
                    int j = columns[e];
                    double dx = xi - y[2 * j], dy = yi - y[2 * j + 1];
                    double w = 1 / (1 + dx * dx + dy * dy), pw = values[e] * w;
                    ax += pw * dx;
                    ay += pw * dy;
                    if (computeKl && values[e] > 0)
                        terms += values[e] * Math.Log(values[e] * zKl / w);
                }
                gradient[2 * i] = 4 * (exaggeration * ax - repulsion[2 * i] / z);
                gradient[2 * i + 1] = 4 * (exaggeration * ay - repulsion[2 * i + 1] / z);
                kl[i] = terms;
            }
        });
        return computeKl ? Sum(kl) : double.NaN;
    }

    /// <summary>The exact repulsions and per-point normalisation, O(N^2).</summary>
    static void ExactRepulsion(double[] y, double[] repulsion, double[] normaliser)
    {
        int n = normaliser.Length;
        ForBlocks(n, (from, to) =>
        {
            for (int i = from; i < to; i++)
            {
                double xi = y[2 * i], yi = y[2 * i + 1], fx = 0, fy = 0, z = 0;
                for (int j = 0; j < n; j++)
                {
                    if (j == i)
                        continue;
                    double dx = xi - y[2 * j], dy = yi - y[2 * j + 1];
                    double q = 1 / (1 + dx * dx + dy * dy);
                    z += q;
                    fx += q * q * dx;
                    fy += q * q * dy;
                }
                repulsion[2 * i] = fx;
                repulsion[2 * i + 1] = fy;
                normaliser[i] = z;
            }
        });
    }

    /// <summary>Z = sum over i != j of (1 + |y_i - y_j|^2)^-1, exactly; <paramref name="scratch"/> holds N partial sums.</summary>
    static double ExactNormaliser(double[] y, double[] scratch)
    {
        int n = scratch.Length;
        ForBlocks(n, (from, to) =>
        {
            for (int i = from; i < to; i++)
            {
                double xi = y[2 * i], yi = y[2 * i + 1], z = 0;
                for (int j = i + 1; j < n; j++)
                {
                    double dx = xi - y[2 * j], dy = yi - y[2 * j + 1];
                    z += 1 / (1 + dx * dx + dy * dy);
                }
                scratch[i] = 2 * z;
            }
        });
        return Math.Max(Sum(scratch), double.Epsilon);
    }

    /// <summary>Runs <paramref name="body"/> over [0, n) in blocks on all cores. Each index writes only its own outputs, so results do not depend on scheduling.</summary>
    static void ForBlocks(int n, Action<int, int> body) =>
        Parallel.For(0, (n + ParallelBlock - 1) / ParallelBlock, b => body(b * ParallelBlock, Math.Min(n, (b + 1) * ParallelBlock)));

    /// <summary>A sum in a fixed order, so that it is the same on every run.</summary>
    static double Sum(double[] values)
    {
        double sum = 0;
        foreach (double v in values)
            sum += v;
        return sum;
    }
}
