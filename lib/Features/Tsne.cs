using System.Diagnostics;
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
/// <remarks>
/// The pieces live in files by concern: the affinities and their perplexity calibration in TsneAffinities.cs,
/// the gradient and the KL divergence in TsneGradient.cs, the quadtree in TsneTree.cs; the general tools t-SNE uses
/// are their own classes (<see cref="PrincipalComponents"/>, <see cref="ExactNeighbours"/>, <see cref="Trustworthiness"/>).
/// </remarks>
public static partial class Tsne
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
            x = PrincipalComponents.Project(x, k);
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
        using var pcs = PrincipalComponents.Project(x, 2);
        using var pcs64 = pcs.to_type(ScalarType.Float64);
        var scores = pcs64.data<double>().ToArray();   // N x 2 values: copied element by element, which is quick at this size
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
}
