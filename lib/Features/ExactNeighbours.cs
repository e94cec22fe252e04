using System.Numerics;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Features;

/// <summary>
/// Every point's nearest neighbours among the points themselves, found exactly (no approximate index): the
/// neighbour lists of t-SNE's affinities and of <see cref="Trustworthiness"/>. To search a database for other
/// points' neighbours, see <see cref="Embeddings.NearestNeighbours"/>.
/// </summary>
public static class ExactNeighbours
{
    /// <summary>
    /// The <paramref name="k"/> nearest neighbours of every row of <paramref name="points"/> (N x D), itself excluded:
    /// row-major N x k indices and squared Euclidean distances, nearest first (ties by index). Distances of a block
    /// of rows to all points come from one matrix product (no N x N matrix); the nearest candidates are then
    /// re-ranked by exact distances in double precision.
    /// </summary>
    public static (int[] Indices, double[] SquaredDistances) Of(Tensor points, int k)
    {
        int n = (int)points.shape[0];
        if (k < 1 || k >= n)
            throw new ArgumentOutOfRangeException(nameof(k), $"k must be between 1 and N - 1 = {n - 1}; got {k}.");
        using var scope = NewDisposeScope();
        var x = points.detach().cpu().reshape(n, -1).to_type(ScalarType.Float32);
        x = (x - x.mean([0], keepdim: true)).contiguous();
        int d = (int)x.shape[1];
        var coordinates = ToArray<float>(x);
        int candidates = Math.Min(n - 1, k + Math.Max(8, k / 4));
        var indices = new int[n * k];
        var distances = new double[n * k];
        ForEachRowOfScores<float>(x, 4_000_000, (i, scores, offset) =>
        {
            var ids = Smallest(scores.AsSpan(offset, n), i, candidates);
            var exact = new double[candidates];
            for (int c = 0; c < candidates; c++)
            {
                double sum = 0;
                for (int f = 0, a = i * d, b = ids[c] * d; f < d; f++)
                {
                    double diff = (double)coordinates[a + f] - coordinates[b + f];
                    sum += diff * diff;
                }
                exact[c] = sum;
            }
            Array.Sort(exact, ids);
            for (int a = 0, b; a < candidates; a = b) // equal distances: lower index first
            {
                for (b = a + 1; b < candidates && exact[b] == exact[a]; b++) { }
                Array.Sort(ids, a, b - a);
            }
            for (int t = 0; t < k; t++)
            {
                indices[i * k + t] = ids[t];
                distances[i * k + t] = exact[t];
            }
        });
        return (indices, distances);
    }

    /// <summary>
    /// Calls <paramref name="row"/>(i, scores, offset) for every row i of <paramref name="x"/> (N x D, contiguous, on the
    /// CPU), in parallel, where scores[offset .. offset + N] holds |x_j|^2 - 2 x_i.x_j for every point j: the squared
    /// distance to x_i less |x_i|^2, which orders the points by their distance to x_i. The rows go through in blocks,
    /// one matrix product of at most <paramref name="scoresPerBlock"/> scores each, so that no N x N matrix is made.
    /// </summary>
    internal static void ForEachRowOfScores<T>(Tensor x, int scoresPerBlock, Action<int, T[], int> row) where T : unmanaged
    {
        int n = (int)x.shape[0];
        using var scope = NewDisposeScope();
        var norms = x.square().sum(1).unsqueeze(0);
        var transposed = x.t().contiguous();
        int block = Math.Clamp(scoresPerBlock / n, 1, n);
        var scores = new T[block * n];
        for (int first = 0; first < n; first += block)
        {
            int rows = Math.Min(block, n - first);
            using (var product = addmm(norms, x.narrow(0, first, rows), transposed, 1, -2))
                MemoryMarshal.Cast<byte, T>(product.bytes).CopyTo(scores);
            int start = first;
            Parallel.For(0, rows, r => row(start + r, scores, r * n));
        }
    }

    /// <summary>The indices of the <paramref name="count"/> smallest values of a row, <paramref name="self"/> left out, in no particular order.</summary>
    static int[] Smallest(ReadOnlySpan<float> row, int self, int count)
    {
        // A max-heap of the smallest values so far; most values are rejected by one comparison with its top,
        // made on a whole SIMD vector of values at a time.
        var heap = new float[count];
        var ids = new int[count];
        int size = 0, width = Vector<float>.Count;
        var vectors = MemoryMarshal.Cast<float, Vector<float>>(row);
        for (int j = 0; j < row.Length; j++)
        {
            if (size == count && j % width == 0 && j / width < vectors.Length && !Vector.LessThanAny(vectors[j / width], new Vector<float>(heap[0])))
            {
                j += width - 1;
                continue;
            }
            float v = row[j];
            if (j == self || size == count && !(v < heap[0]))
                continue;
            // insert v: sift up into a free slot, or down from the top in place of the largest
            int c;
            if (size < count)
            {
                c = size++;
                while (c > 0 && heap[(c - 1) / 2] < v)
                {
                    heap[c] = heap[(c - 1) / 2];
                    ids[c] = ids[(c - 1) / 2];
                    c = (c - 1) / 2;
                }
            }
            else
            {
                c = 0;
                while (2 * c + 1 < count)
                {
                    int child = 2 * c + 1;
                    if (child + 1 < count && heap[child + 1] > heap[child])
                        child++;
                    if (heap[child] <= v)
                        break;
                    heap[c] = heap[child];
                    ids[c] = ids[child];
                    c = child;
                }
            }
            heap[c] = v;
            ids[c] = j;
        }
        return ids;
    }

    /// <summary>A contiguous CPU tensor's elements, copied in one go (<c>data&lt;T&gt;().ToArray()</c> goes element by element).</summary>
    static T[] ToArray<T>(Tensor t) where T : unmanaged
    {
        using var c = t.contiguous();
        var result = new T[c.numel()];
        MemoryMarshal.Cast<byte, T>(c.bytes).CopyTo(result);
        return result;
    }
}
