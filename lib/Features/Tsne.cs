using System.Diagnostics;
using System.Numerics;
using System.Runtime.InteropServices;
using WhatNetworksLearn.Notebook;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Features;

/// <summary>How t-SNE places the points before optimising.</summary>
public enum TsneInit
{
    /// <summary>The first two principal components, scaled so that the first has standard deviation 1e-4 (scikit-learn's default).</summary>
    Pca,
    /// <summary>Gaussian noise of standard deviation 1e-4, drawn with <see cref="TsneOptions.Seed"/>.</summary>
    Random,
}

/// <summary>
/// The settings of <see cref="Tsne.Embed(Tensor, TsneOptions?, IProgress{int}?)"/>. The defaults are scikit-learn's
/// (<c>TSNE(init="pca", learning_rate="auto", method="barnes_hut", angle=0.5)</c>).
/// </summary>
/// <param name="Perplexity">The effective number of neighbours each point keeps; must be below the number of points.</param>
/// <param name="Iterations">Gradient-descent steps in total, early exaggeration included.</param>
/// <param name="EarlyExaggeration">Factor on the attractions during the first steps, so that clusters form and separate.</param>
/// <param name="ExaggerationIterations">How many steps are exaggerated (with momentum 0.5; the rest use 0.8).</param>
/// <param name="LearningRate">Step size; null means "auto": max(N / <paramref name="EarlyExaggeration"/> / 4, 50).</param>
/// <param name="Theta">Barnes-Hut accuracy (scikit-learn's <c>angle</c>): 0 is exact and slow, 0.5 the usual trade-off.</param>
/// <param name="PcaDimensions">Features are first reduced to this many principal components when they have more; null keeps them all.</param>
/// <param name="Seed">Seeds the random initialisation; the rest of the computation is deterministic.</param>
/// <param name="ExactGradient">scikit-learn's <c>method="exact"</c>: affinities to all points and the O(N^2) gradient. For a few hundred points.</param>
/// <param name="KlEvery">The KL divergence is recorded every this many iterations.</param>
/// <param name="Init">How the embedding starts.</param>
public sealed record TsneOptions(double Perplexity = 30, int Iterations = 1000, double EarlyExaggeration = 12,
                                 int ExaggerationIterations = 250, double? LearningRate = null, double Theta = 0.5,
                                 int? PcaDimensions = 50, int Seed = 0, bool ExactGradient = false, int KlEvery = 50,
                                 TsneInit Init = TsneInit.Pca);

/// <summary>What t-SNE produced.</summary>
/// <param name="Embedding">N x 2: one row of coordinates per point, in the input's order.</param>
/// <param name="KlHistory">
/// The KL divergence between the affinities and the embedding's similarities after that many iterations, every
/// <see cref="TsneOptions.KlEvery"/> and at the end. Always for the true affinities, also during early exaggeration
/// (where scikit-learn's log shows the objective of the exaggerated ones, which is higher).
/// </param>
/// <param name="FinalKl">The KL divergence of <paramref name="Embedding"/>: what t-SNE minimised (scikit-learn's <c>kl_divergence_</c>).</param>
/// <param name="IterationsRun">Iterations done; fewer than asked when the optimisation stopped making progress.</param>
/// <param name="Elapsed">Wall-clock time of the whole computation.</param>
public sealed record TsneResult(float[,] Embedding, IReadOnlyList<(int Iteration, double Kl)> KlHistory, double FinalKl,
                                int IterationsRun, TimeSpan Elapsed)
{
    /// <summary>The embedding as an N x 2 float32 tensor.</summary>
    public Tensor ToTensor() => tensor(Embedding);
}

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

/// <summary>
/// t-SNE (van der Maaten and Hinton, 2008): a 2-D map of high-dimensional points in which points that are near
/// neighbours in the original space stay near. As scikit-learn's Barnes-Hut TSNE: Gaussian affinities over the
/// 3 x perplexity nearest neighbours, Student-t similarities in 2-D, gradient descent with early exaggeration,
/// momentum and per-coordinate gains, repulsions approximated with a quadtree (see <see cref="TsneTree"/>).
/// </summary>
/// <example>
/// <code>
/// var result = Tsne.Embed(features);          // features: N x D
/// Console.WriteLine($"KL {result.FinalKl:F3}"); // result.Embedding: N x 2
/// </code>
/// </example>
public static class Tsne
{
    /// <summary>Optimisation stops when the gradient's norm falls below this (scikit-learn's <c>min_grad_norm</c>).</summary>
    public const double MinGradientNorm = 1e-7;

    /// <summary>... or when the KL divergence has not improved for this many iterations (<c>n_iter_without_progress</c>).</summary>
    public const int IterationsWithoutProgress = 300;

    /// <summary>
    /// Up to this many points the KL divergence is computed exactly; above, with the Barnes-Hut estimate of its
    /// normalisation. Also the most points <see cref="TsneOptions.ExactGradient"/> accepts.
    /// </summary>
    public const int ExactKlMaxPoints = 5000;

    const double MinGain = 0.01;
    const double PerplexityTolerance = 1e-5; // on the entropy, in nats, as scikit-learn
    const int PerplexitySteps = 100;
    const int ParallelBlock = 64;

    // ---------------------------------------------------------------- the whole algorithm

    /// <summary>Embeds the rows of an N x D array in 2-D.</summary>
    public static TsneResult Embed(float[,] features, TsneOptions? options = null, IProgress<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(features);
        using var x = tensor(features);
        return Embed(x, options, progress);
    }

    /// <summary>Embeds N feature vectors of equal length in 2-D.</summary>
    public static TsneResult Embed(float[][] features, TsneOptions? options = null, IProgress<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(features);
        int n = features.Length, d = n == 0 ? 0 : features[0].Length;
        var array = new float[n, d];
        for (int i = 0; i < n; i++)
        {
            if (features[i].Length != d)
                throw new ArgumentException($"Every feature vector must have the same length; row 0 has {d} values, row {i} has {features[i].Length}.", nameof(features));
            for (int j = 0; j < d; j++)
                array[i, j] = features[i][j];
        }
        return Embed(array, options, progress);
    }

    /// <summary>
    /// Embeds the rows of <paramref name="features"/> (N x D; N x C x H x W is flattened to N x CHW) in 2-D.
    /// Shows one progress bar in a notebook; <paramref name="progress"/>, if given, receives the iterations done.
    /// </summary>
    public static TsneResult Embed(Tensor features, TsneOptions? options = null, IProgress<int>? progress = null)
    {
        var o = options ?? new TsneOptions();
        var clock = Stopwatch.StartNew();
        using var x = Prepare(features, o);
        int n = (int)x.shape[0];

        var p = Affinities(x, o.Perplexity, o.ExactGradient ? n - 1 : null);
        var y = InitialEmbedding(x, o);
        double learningRate = o.LearningRate ?? Math.Max(n / o.EarlyExaggeration / 4, 50);
        var (history, finalKl, iterations) = Optimise(p, y, o, learningRate, progress);

        var embedding = new float[n, 2];
        for (int i = 0; i < n; i++)
        {
            embedding[i, 0] = (float)y[2 * i];
            embedding[i, 1] = (float)y[2 * i + 1];
        }
        return new TsneResult(embedding, history, finalKl, iterations, clock.Elapsed);
    }

    /// <summary>Checks the input and options; returns the features as N x D float32 on the CPU, reduced by PCA if asked.</summary>
    static Tensor Prepare(Tensor features, TsneOptions o)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (features.dim() < 2)
            throw new ArgumentException($"t-SNE needs N x D features (one row per point); got a tensor of shape [{string.Join(", ", features.shape)}].", nameof(features));
        long n = features.shape[0];
        if (features.numel() == 0 && n > 0)
            throw new ArgumentException("The features are empty: every point needs at least one value.", nameof(features));
        if (n < 4)
            throw new ArgumentException($"t-SNE needs at least 4 points; got {n}.", nameof(features));
        if (!(o.Perplexity > 0 && o.Perplexity < n))
            throw new ArgumentException($"The perplexity ({o.Perplexity}) must be positive and less than the number of points ({n}); " +
                                        "it is roughly the number of neighbours each point keeps (5 to 50 is usual).", nameof(o.Perplexity));
        if (o.Iterations < 1 || o.ExaggerationIterations < 0 || o.KlEvery < 1)
            throw new ArgumentOutOfRangeException(nameof(o.Iterations), $"Iterations ({o.Iterations}) and KlEvery ({o.KlEvery}) must be at least 1, ExaggerationIterations ({o.ExaggerationIterations}) at least 0.");
        if (!(o.EarlyExaggeration > 0) || o.LearningRate is <= 0 || double.IsNaN(o.LearningRate ?? 1) || !(o.Theta >= 0) || o.PcaDimensions is < 2)
            throw new ArgumentOutOfRangeException(nameof(o.Theta), "EarlyExaggeration and LearningRate must be positive, Theta at least 0 and PcaDimensions at least 2.");
        if (o.ExactGradient && n > ExactKlMaxPoints)
            throw new ArgumentException($"The exact method stores all N^2 affinities and is meant for small sets; {n} points is over " +
                                        $"{ExactKlMaxPoints}. Use the default Barnes-Hut method.", nameof(o.ExactGradient));
        if (features.dtype is ScalarType.ComplexFloat32 or ScalarType.ComplexFloat64)
            throw new ArgumentException($"t-SNE needs real-valued features; got {features.dtype}.", nameof(features));

        using var scope = NewDisposeScope();
        var x = features.detach().cpu().reshape(n, -1).to_type(ScalarType.Float32);
        if (!isfinite(x).all().item<bool>())
            throw new ArgumentException("The features contain NaN or infinite values; t-SNE needs finite numbers.", nameof(features));
        if (o.PcaDimensions is int k && x.shape[1] > k)
            x = PrincipalComponents(x, k);
        else
            x = x - x.mean([0], keepdim: true); // distances do not change; centring makes them more accurate in float32
        return x.contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>The starting 2-D embedding as x0, y0, x1, y1, ...: scaled PCA (deterministic) or seeded noise, standard deviation 1e-4.</summary>
    static double[] InitialEmbedding(Tensor x, TsneOptions o)
    {
        int n = (int)x.shape[0];
        var y = new double[2 * n];
        var random = new Random(o.Seed);
        if (o.Init == TsneInit.Random)
        {
            for (int c = 0; c < y.Length; c++)
                y[c] = 1e-4 * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
            return y;
        }
        using var pcs = PrincipalComponents(x, 2);
        using var pcs64 = pcs.to_type(ScalarType.Float64);
        var scores = ToArray<double>(pcs64);
        int columns = (int)pcs.shape[1]; // 1 when the features have a single dimension
        double mean = 0, variance = 0;
        for (int i = 0; i < n; i++)
            mean += scores[columns * i] / n;
        for (int i = 0; i < n; i++)
            variance += (scores[columns * i] - mean) * (scores[columns * i] - mean) / n;
        double scale = variance > 0 ? 1e-4 / Math.Sqrt(variance) : 1;
        for (int i = 0; i < n; i++)
            for (int c = 0; c < 2; c++)
                y[2 * i + c] = c < columns ? scores[columns * i + c] * scale : 1e-4 * (random.NextDouble() - 0.5);
        return y;
    }

    /// <summary>Gradient descent with momentum and gains; updates <paramref name="y"/> in place.</summary>
    static (List<(int, double)> History, double FinalKl, int Iterations) Optimise(TsneAffinities p, double[] y, TsneOptions o,
                                                                                   double learningRate, IProgress<int>? progress)
    {
        int n = p.Count;
        var update = new double[2 * n];
        var gains = new double[2 * n];
        Array.Fill(gains, 1.0);
        var gradient = new double[2 * n];
        var work = new Workspace(n);
        var history = new List<(int, double)>();
        double best = double.MaxValue, lastKl = double.NaN;
        int bestIteration = 0, it = 0;

        using var display = ProgressDisplay.Start("t-SNE", o.Iterations);
        for (; it < o.Iterations; it++)
        {
            // In iteration `it` the embedding has had `it` updates; the KL is recorded for it, so the history reads
            // "after 50, 100, ... iterations". It uses the true affinities even while they are exaggerated.
            bool exaggerating = it < o.ExaggerationIterations;
            bool check = it > 0 && it % o.KlEvery == 0;
            double kl = Gradient(p, y, gradient, exaggerating ? o.EarlyExaggeration : 1, o.ExactGradient ? null : o.Theta, check, work);
            if (check)
            {
                if (!double.IsFinite(kl))
                    throw new InvalidOperationException($"t-SNE diverged after {it} iterations (the KL divergence is {kl}); try a smaller learning rate.");
                history.Add((it, kl));
                lastKl = kl;
                if (!exaggerating)
                {
                    if (kl < best)
                    {
                        best = kl;
                        bestIteration = it;
                    }
                    else if (it - bestIteration > IterationsWithoutProgress)
                        break;
                }
            }
            if (!exaggerating && Norm(gradient) < MinGradientNorm)
                break;

            double momentum = exaggerating ? 0.5 : 0.8;
            for (int c = 0; c < y.Length; c++)
            {
                double g = gradient[c];
                gains[c] = update[c] * g < 0 ? gains[c] + 0.2 : Math.Max(gains[c] * 0.8, MinGain);
                update[c] = momentum * update[c] - learningRate * gains[c] * g;
                y[c] += update[c];
            }
            display.Report(it + 1, double.IsNaN(lastKl) ? "" : $"KL {lastKl:F3}");
            progress?.Report(it + 1);
        }

        double finalKl = Gradient(p, y, gradient, 1, o.ExactGradient ? null : o.Theta, true, work);
        if (history.Count == 0 || history[^1].Item1 != it)
            history.Add((it, finalKl));
        display.Report(o.Iterations, it < o.Iterations ? $"KL {finalKl:F3}, converged after {it} iterations" : $"KL {finalKl:F3}");
        return (history, finalKl, it);
    }

    static double Norm(double[] v)
    {
        double sum = 0;
        foreach (double x in v)
            sum += x * x;
        return Math.Sqrt(sum);
    }

    // ---------------------------------------------------------------- affinities

    /// <summary>
    /// The symmetric affinities: each point's <paramref name="neighbours"/> nearest neighbours (default
    /// min(N - 1, 3 x perplexity + 1)) get Gaussian conditional probabilities p_j|i calibrated to the perplexity,
    /// then p_ij = (p_j|i + p_i|j) / 2N.
    /// </summary>
    public static TsneAffinities Affinities(Tensor points, double perplexity, int? neighbours = null)
    {
        int n = (int)points.shape[0];
        int k = neighbours ?? Math.Min(n - 1, (int)(3 * perplexity + 1));
        var (indices, distances) = NearestNeighbours(points, k);
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

    /// <summary>
    /// The <paramref name="k"/> nearest neighbours of every row of <paramref name="points"/> (N x D), itself excluded:
    /// row-major N x k indices and squared Euclidean distances, nearest first (ties by index). Distances of a block
    /// of rows to all points come from one matrix product (no N x N matrix); the nearest candidates are then
    /// re-ranked by exact distances in double precision.
    /// </summary>
    public static (int[] Indices, double[] SquaredDistances) NearestNeighbours(Tensor points, int k)
    {
        int n = (int)points.shape[0];
        if (k < 1 || k >= n)
            throw new ArgumentOutOfRangeException(nameof(k), $"k must be between 1 and N - 1 = {n - 1}; got {k}.");
        using var scope = NewDisposeScope();
        var x = points.detach().cpu().reshape(n, -1).to_type(ScalarType.Float32);
        x = (x - x.mean([0], keepdim: true)).contiguous();
        int d = (int)x.shape[1];
        var coordinates = ToArray<float>(x);
        var norms = x.square().sum(1).unsqueeze(0);
        var transposed = x.t().contiguous();
        int candidates = Math.Min(n - 1, k + Math.Max(8, k / 4));
        int block = Math.Clamp(4_000_000 / n, 1, n);
        var scores = new float[block * n];

        var indices = new int[n * k];
        var distances = new double[n * k];
        for (int first = 0; first < n; first += block)
        {
            int rows = Math.Min(block, n - first);
            // |x_j|^2 - 2 x_i.x_j: the squared distance minus |x_i|^2, which does not change the order within a row
            using (var product = addmm(norms, x.narrow(0, first, rows), transposed, 1, -2))
                MemoryMarshal.Cast<byte, float>(product.bytes).CopyTo(scores);
            Parallel.For(0, rows, r =>
            {
                int i = first + r;
                var ids = Smallest(scores.AsSpan(r * n, n), i, candidates);
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
        }
        return (indices, distances);
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

    /// <summary>
    /// The rows of <paramref name="points"/> projected on their first <paramref name="dimensions"/> principal
    /// components (N x dimensions, float32), from the eigenvectors of the covariance (or of the Gram matrix when
    /// D &gt; N). Each component's sign is fixed so that its largest coefficient is positive, so results do not flip.
    /// </summary>
    public static Tensor PrincipalComponents(Tensor points, int dimensions)
    {
        using var scope = NewDisposeScope();
        long n = points.shape[0];
        var x = points.detach().cpu().reshape(n, -1).to_type(ScalarType.Float32);
        x = x - x.mean([0], keepdim: true);
        long d = x.shape[1];
        int k = (int)Math.Min(dimensions, Math.Min(n, d));
        // The products in float32 (fast), the eigenvectors in float64 (accurate).
        Tensor components;
        if (d <= n)
        {
            var (_, vectors) = linalg.eigh(x.t().mm(x).to_type(ScalarType.Float64)); // ascending eigenvalues
            components = vectors.flip(1).narrow(1, 0, k);
        }
        else
        {
            var (values, vectors) = linalg.eigh(x.mm(x.t()).to_type(ScalarType.Float64));
            var u = vectors.flip(1).narrow(1, 0, k);
            var s = values.flip(0).narrow(0, 0, k).clamp_min(1e-300).sqrt();
            components = x.t().to_type(ScalarType.Float64).mm(u) / s;
        }
        var largest = components.abs().argmax(0, keepdim: true);
        var signs = components.gather(0, largest).sign();
        components = components * where(signs.eq(0), ones_like(signs), signs);
        return x.mm(components.to_type(ScalarType.Float32)).MoveToOuterDisposeScope();
    }

    // ---------------------------------------------------------------- gradient and KL divergence

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

    // ---------------------------------------------------------------- quality

    /// <summary>
    /// Trustworthiness of an embedding (Venna and Kaski; as scikit-learn's <c>trustworthiness</c>): 1 when each point's
    /// <paramref name="k"/> nearest neighbours in the embedding are also among its k nearest in the original space,
    /// lower when the embedding brings in points that were far. <paramref name="k"/> must be below N / 2.
    /// </summary>
    public static double Trustworthiness(Tensor points, Tensor embedding, int k = 5)
    {
        long n = points.shape[0];
        if (embedding.shape[0] != n)
            throw new ArgumentException($"The embedding has {embedding.shape[0]} rows for {n} points.", nameof(embedding));
        if (k < 1 || k >= n / 2.0)
            throw new ArgumentOutOfRangeException(nameof(k), $"k must be at least 1 and less than N / 2 = {n / 2.0}; got {k}.");
        var (near, _) = NearestNeighbours(embedding, k);

        using var scope = NewDisposeScope();
        var x = points.detach().cpu().reshape(n, -1).to_type(ScalarType.Float64);
        x = (x - x.mean([0], keepdim: true)).contiguous();
        var norms = x.square().sum(1).unsqueeze(0);
        var transposed = x.t().contiguous();
        int count = (int)n, block = Math.Clamp(2_000_000 / count, 1, count);
        var scores = new double[block * count];
        var penalties = new long[count];
        for (int first = 0; first < count; first += block)
        {
            int rows = Math.Min(block, count - first);
            // |x_j|^2 - 2 x_i.x_j orders the points by their distance to x_i
            using (var product = addmm(norms, x.narrow(0, first, rows), transposed, 1, -2))
                MemoryMarshal.Cast<byte, double>(product.bytes).CopyTo(scores);
            Parallel.For(0, rows, r =>
            {
                int i = first + r;
                var row = scores.AsSpan(r * count, count);
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
        }
        return 1 - penalties.Sum() * 2.0 / (n * k * (2.0 * n - 3.0 * k - 1));
    }

    /// <summary>Trustworthiness of an N x 2 embedding as returned in <see cref="TsneResult.Embedding"/>.</summary>
    public static double Trustworthiness(Tensor points, float[,] embedding, int k = 5)
    {
        using var y = tensor(embedding);
        return Trustworthiness(points, y, k);
    }
}
