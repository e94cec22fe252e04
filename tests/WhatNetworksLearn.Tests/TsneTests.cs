using WhatNetworksLearn.Features;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

public class TsneTests
{
    // ------------------------------------------------------------ data

    static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    static float[,] RandomPoints(int n, int d, int seed, double scale = 1)
    {
        var random = new Random(seed);
        var x = new float[n, d];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++)
                x[i, j] = (float)(scale * Gaussian(random));
        return x;
    }

    /// <summary>Well-separated Gaussian clusters: centres 10 apart on average, spread 1, in 20 dimensions.</summary>
    static (float[,] Points, int[] Labels) Clusters(int clusters = 5, int perCluster = 60, int d = 20, int seed = 1)
    {
        var random = new Random(seed);
        var centres = new double[clusters, d];
        for (int c = 0; c < clusters; c++)
            for (int j = 0; j < d; j++)
                centres[c, j] = 5 * Gaussian(random);
        var x = new float[clusters * perCluster, d];
        var labels = new int[clusters * perCluster];
        for (int i = 0; i < labels.Length; i++)
        {
            labels[i] = i % clusters; // interleaved, so that the order carries no information
            for (int j = 0; j < d; j++)
                x[i, j] = (float)(centres[labels[i], j] + Gaussian(random));
        }
        return (x, labels);
    }

    static double[] Flatten(float[,] y)
    {
        var flat = new double[y.Length];
        for (int i = 0; i < y.GetLength(0); i++)
            for (int c = 0; c < 2; c++)
                flat[2 * i + c] = y[i, c];
        return flat;
    }

    static double RelativeError(double[] actual, double[] expected)
    {
        double diff = 0, norm = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            diff += (actual[i] - expected[i]) * (actual[i] - expected[i]);
            norm += expected[i] * expected[i];
        }
        return Math.Sqrt(diff / norm);
    }

    static double SquaredDistance(float[,] x, int i, int j)
    {
        double sum = 0;
        for (int f = 0; f < x.GetLength(1); f++)
            sum += (x[i, f] - x[j, f]) * (double)(x[i, f] - x[j, f]);
        return sum;
    }

    // ------------------------------------------------------------ affinities

    [Theory]
    [InlineData(5.0)]
    [InlineData(30.0)]
    [InlineData(50.0)]
    public void ConditionalProbabilitiesHaveTheRequestedPerplexity(double perplexity)
    {
        var random = new Random(3);
        // squared distances of 3 x perplexity + 1 neighbours, spread like those of real data (and one far outlier)
        var distances = Enumerable.Range(0, (int)(3 * perplexity + 1)).Select(_ => 20 + 30 * random.NextDouble()).ToArray();
        distances[^1] = 500;
        var p = Tsne.ConditionalProbabilities(distances, perplexity);

        Assert.Equal(1, p.Sum(), 9);
        double entropyBits = -p.Where(v => v > 0).Sum(v => v * Math.Log2(v));
        Assert.Equal(1, Math.Pow(2, entropyBits) / perplexity, 1e-3);
        // Gaussian in the distance: nearer neighbours are more probable
        int nearest = Array.IndexOf(distances, distances.Min()), farthest = Array.IndexOf(distances, distances.Max());
        Assert.True(p[nearest] > p[farthest]);
    }

    [Fact]
    public void NearestNeighboursMatchBruteForce()
    {
        var x = RandomPoints(300, 7, seed: 4);
        using var t = tensor(x);
        const int k = 12;
        var (indices, distances) = ExactNeighbours.Of(t, k);
        for (int i = 0; i < 300; i++)
        {
            var expected = Enumerable.Range(0, 300).Where(j => j != i).OrderBy(j => SquaredDistance(x, i, j)).Take(k).ToArray();
            Assert.Equal(expected, indices.AsSpan(i * k, k).ToArray());
            for (int c = 0; c < k; c++)
                Assert.True(Math.Abs(SquaredDistance(x, i, expected[c]) - distances[i * k + c]) < 1e-5 * distances[i * k + c]);
        }
    }

    [Fact]
    public void AffinitiesAreSymmetricSparseAndSumToOne()
    {
        var x = RandomPoints(200, 10, seed: 5);
        using var t = tensor(x);
        var p = Tsne.Affinities(t, perplexity: 10);

        Assert.Equal(1, p.Values.Sum(), 9);
        int k = 31; // min(N - 1, 3 x 10 + 1)
        Assert.InRange(p.Values.Length, 200 * k, 2 * 200 * k);
        for (int i = 0; i < p.Count; i++)
            for (int e = p.RowStart[i]; e < p.RowStart[i + 1]; e++)
            {
                Assert.NotEqual(i, p.Columns[e]);
                Assert.True(e == p.RowStart[i] || p.Columns[e] > p.Columns[e - 1], "columns sorted and unique");
                Assert.Equal(p.Values[e], p[p.Columns[e], i], 15);
            }
    }

    // ------------------------------------------------------------ gradient

    /// <summary>A P from random data and a spread-out random embedding, as in the middle of an optimisation.</summary>
    static (TsneAffinities P, double[] Y) Problem(int n, double perplexity, int seed)
    {
        using var x = tensor(RandomPoints(n, 10, seed));
        var p = Tsne.Affinities(x, perplexity);
        var random = new Random(seed + 100);
        var y = Enumerable.Range(0, 2 * n).Select(_ => 5 * Gaussian(random)).ToArray();
        return (p, y);
    }

    [Fact]
    public void BarnesHutGradientMatchesTheExactGradient()
    {
        var (p, y) = Problem(200, 10, seed: 6);
        var exact = Tsne.ExactGradient(p, y);

        Assert.True(RelativeError(Tsne.BarnesHutGradient(p, y, theta: 0.5), exact) < 0.05);
        Assert.True(RelativeError(Tsne.BarnesHutGradient(p, y, theta: 0.2), exact) < 0.01);
        Assert.True(RelativeError(Tsne.BarnesHutGradient(p, y, theta: 0), exact) < 1e-6);
        // a wrong tree (no approximation error at all, or a huge one) would not pass both bounds
        Assert.True(RelativeError(Tsne.BarnesHutGradient(p, y, theta: 0.5), exact) > 1e-9);
    }

    [Fact]
    public void BarnesHutGradientHandlesDuplicatedPoints()
    {
        var (p, y) = Problem(100, 5, seed: 7);
        for (int i = 0; i < 30; i++) // 30 points on top of each other
        {
            y[2 * i] = 1.5;
            y[2 * i + 1] = -2;
        }
        var exact = Tsne.ExactGradient(p, y);
        Assert.True(RelativeError(Tsne.BarnesHutGradient(p, y, theta: 0), exact) < 1e-6);
        Assert.True(RelativeError(Tsne.BarnesHutGradient(p, y, theta: 0.5), exact) < 0.05);
    }

    [Fact]
    public void ExactGradientIsTheDerivativeOfTheKlDivergence()
    {
        var (p, y) = Problem(10, 3, seed: 8);
        var gradient = Tsne.ExactGradient(p, y);
        var numeric = new double[y.Length];
        const double h = 1e-5;
        for (int c = 0; c < y.Length; c++)
        {
            var plus = (double[])y.Clone();
            var minus = (double[])y.Clone();
            plus[c] += h;
            minus[c] -= h;
            numeric[c] = (Tsne.KlDivergence(p, plus) - Tsne.KlDivergence(p, minus)) / (2 * h);
        }
        Assert.True(RelativeError(gradient, numeric) < 1e-6, $"relative error {RelativeError(gradient, numeric)}");
    }

    [Fact]
    public void KlDivergenceIsZeroOnlyWhenQEqualsP()
    {
        var (p, y) = Problem(50, 5, seed: 9);
        double kl = Tsne.KlDivergence(p, y);
        Assert.True(kl > 0);
        // direct evaluation: sum p log(p / q) with q_ij = w_ij / sum of w over all pairs
        double z = 0;
        for (int i = 0; i < 50; i++)
            for (int j = 0; j < 50; j++)
                if (i != j)
                    z += 1 / (1 + Math.Pow(y[2 * i] - y[2 * j], 2) + Math.Pow(y[2 * i + 1] - y[2 * j + 1], 2));
        double expected = 0;
        for (int i = 0; i < 50; i++)
            for (int e = p.RowStart[i]; e < p.RowStart[i + 1]; e++)
            {
                int j = p.Columns[e];
                double q = 1 / (1 + Math.Pow(y[2 * i] - y[2 * j], 2) + Math.Pow(y[2 * i + 1] - y[2 * j + 1], 2)) / z;
                expected += p.Values[e] * Math.Log(p.Values[e] / q);
            }
        Assert.Equal(expected, kl, 10);
    }

    // ------------------------------------------------------------ the whole algorithm

    [Fact]
    public void KlDivergenceFallsAfterExaggeration()
    {
        var (x, _) = Clusters(seed: 10);
        var result = Tsne.Embed(x, new TsneOptions(Perplexity: 20, Iterations: 750));

        var after = result.KlHistory.Where(h => h.Iteration >= 250).ToList();
        Assert.True(after.Count >= 10);
        for (int t = 1; t < after.Count; t++)
            Assert.True(after[t].Kl <= after[t - 1].Kl + 1e-3, $"KL rose from {after[t - 1].Kl} to {after[t].Kl} at {after[t].Iteration}");
        Assert.True(result.FinalKl < after[0].Kl - 0.05);
        Assert.Equal(result.FinalKl, result.KlHistory[^1].Kl);
        Assert.Equal(result.IterationsRun, result.KlHistory[^1].Iteration);
        Assert.True(result.FinalKl > 0);
    }

    [Fact]
    public void SeparatedClustersStaySeparated()
    {
        var (x, labels) = Clusters(seed: 11);
        var result = Tsne.Embed(x, new TsneOptions(Perplexity: 20));
        var y = result.Embedding;
        using var points = tensor(x);

        Assert.True(Trustworthiness.Of(points, y, 5) >= 0.9);
        // every point is nearer its own cluster's centre in 2-D than any other's
        var centres = new double[5, 2];
        for (int i = 0; i < labels.Length; i++)
            for (int c = 0; c < 2; c++)
                centres[labels[i], c] += y[i, c] / 60.0;
        for (int i = 0; i < labels.Length; i++)
        {
            var distances = Enumerable.Range(0, 5).Select(k => Math.Pow(y[i, 0] - centres[k, 0], 2) + Math.Pow(y[i, 1] - centres[k, 1], 2)).ToList();
            Assert.Equal(labels[i], distances.IndexOf(distances.Min()));
        }
    }

    [Fact]
    public void ExactMethodAlsoSeparatesClusters()
    {
        var (x, labels) = Clusters(clusters: 3, perCluster: 30, seed: 12);
        var result = Tsne.Embed(x, new TsneOptions(Perplexity: 10, Iterations: 500, ExactGradient: true));
        using var points = tensor(x);
        Assert.True(Trustworthiness.Of(points, result.Embedding, 5) >= 0.9);
        var (near, _) = ExactNeighbours.Of(result.ToTensor(), 5);
        int agree = Enumerable.Range(0, labels.Length).Count(i => near.AsSpan(i * 5, 5).ToArray().Count(j => labels[j] == labels[i]) >= 3);
        Assert.True(agree >= 0.95 * labels.Length);
    }

    [Fact]
    public void SameSeedGivesTheSameEmbedding()
    {
        var (x, _) = Clusters(clusters: 4, perCluster: 50, seed: 13);
        var options = new TsneOptions(Perplexity: 15, Iterations: 300);
        var first = Tsne.Embed(x, options);
        var second = Tsne.Embed(x, options);
        Assert.Equal(Flatten(first.Embedding), Flatten(second.Embedding));
        Assert.Equal(first.FinalKl, second.FinalKl);

        var random = options with { Init = TsneInit.Random, Seed = 1 };
        Assert.Equal(Flatten(Tsne.Embed(x, random).Embedding), Flatten(Tsne.Embed(x, random).Embedding));
        Assert.NotEqual(Flatten(Tsne.Embed(x, random).Embedding), Flatten(Tsne.Embed(x, random with { Seed = 2 }).Embedding));

        var (p, y) = Problem(500, 10, seed: 14);
        Assert.Equal(Tsne.BarnesHutGradient(p, y), Tsne.BarnesHutGradient(p, y));
    }

    [Fact]
    public void TensorAndArrayInputsAgree()
    {
        var (x, _) = Clusters(clusters: 3, perCluster: 20, d: 60, seed: 15); // 60 > 50: reduced by PCA first
        var jagged = Enumerable.Range(0, x.GetLength(0)).Select(i => Enumerable.Range(0, 60).Select(j => x[i, j]).ToArray()).ToArray();
        var options = new TsneOptions(Perplexity: 5, Iterations: 300);
        using var t = tensor(x).reshape(60, 1, 6, 10); // images are flattened
        var fromTensor = Tsne.Embed(t, options);
        Assert.Equal(Flatten(fromTensor.Embedding), Flatten(Tsne.Embed(x, options).Embedding));
        Assert.Equal(Flatten(fromTensor.Embedding), Flatten(Tsne.Embed(jagged, options).Embedding));
        Assert.Equal([60L, 2L], fromTensor.ToTensor().shape);
    }

    [Fact]
    public void PrincipalComponentsAreOrderedAndUncorrelated()
    {
        var random = new Random(16);
        var x = new float[400, 5];
        for (int i = 0; i < 400; i++)
            for (int j = 0; j < 5; j++)
                x[i, j] = (float)((5 - j) * Gaussian(random) + 3); // variances 25, 16, 9, 4, 1, off-centre
        using var t = tensor(x);
        using var scores = PrincipalComponents.Project(t, 3).to_type(ScalarType.Float64);
        using var covariance = scores.t().mm(scores) / 399;
        var c = covariance.data<double>().ToArray();
        Assert.True(c[0] > c[4] && c[4] > c[8]);
        Assert.InRange(c[0], 18, 32);
        Assert.True(Math.Abs(c[1]) < 1e-3 && Math.Abs(c[2]) < 1e-3 && Math.Abs(c[5]) < 1e-3);
        Assert.Equal(0, scores.mean().item<double>(), 4);
    }

    // ------------------------------------------------------------ trustworthiness

    /// <summary>scikit-learn's definition, computed the slow way.</summary>
    static double ReferenceTrustworthiness(float[,] x, float[,] y, int k)
    {
        int n = x.GetLength(0);
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            var byX = Enumerable.Range(0, n).Where(j => j != i).OrderBy(j => SquaredDistance(x, i, j)).ToList();
            var byY = Enumerable.Range(0, n).Where(j => j != i).OrderBy(j => SquaredDistance(y, i, j)).Take(k);
            foreach (int j in byY)
                sum += Math.Max(0, byX.IndexOf(j) + 1 - k);
        }
        return 1 - 2.0 / (n * k * (2.0 * n - 3 * k - 1)) * sum;
    }

    [Fact]
    public void TrustworthinessFollowsItsDefinition()
    {
        var x = RandomPoints(60, 4, seed: 17);
        var y = RandomPoints(60, 2, seed: 18);
        using var points = tensor(x);
        Assert.Equal(ReferenceTrustworthiness(x, y, 5), Trustworthiness.Of(points, y, 5), 10);

        var identity = RandomPoints(60, 2, seed: 19);
        using var same = tensor(identity);
        Assert.Equal(1, Trustworthiness.Of(same, identity, 5), 10);
        Assert.Throws<ArgumentOutOfRangeException>(() => Trustworthiness.Of(points, y, 30));
    }

    // ------------------------------------------------------------ bad input

    [Fact]
    public void BadInputIsRejectedWithAClearMessage()
    {
        var few = Assert.Throws<ArgumentException>(() => Tsne.Embed(RandomPoints(3, 5, seed: 20)));
        Assert.Contains("at least 4 points", few.Message);

        var perplexity = Assert.Throws<ArgumentException>(() => Tsne.Embed(RandomPoints(30, 5, seed: 21)));
        Assert.Contains("perplexity", perplexity.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Throws<ArgumentException>(() => Tsne.Embed(RandomPoints(30, 5, seed: 21), new TsneOptions(Perplexity: 30)));

        var withNaN = RandomPoints(40, 5, seed: 22);
        withNaN[7, 3] = float.NaN;
        Assert.Contains("NaN", Assert.Throws<ArgumentException>(() => Tsne.Embed(withNaN, new TsneOptions(Perplexity: 5))).Message);
        var withInfinity = RandomPoints(40, 5, seed: 22);
        withInfinity[0, 0] = float.PositiveInfinity;
        Assert.Throws<ArgumentException>(() => Tsne.Embed(withInfinity, new TsneOptions(Perplexity: 5)));

        Assert.Throws<ArgumentException>(() => Tsne.Embed([[1f, 2f], [3f], [4f, 5f], [6f, 7f]]));
        using var vector = zeros(10);
        Assert.Throws<ArgumentException>(() => Tsne.Embed(vector));
        Assert.Throws<ArgumentOutOfRangeException>(() => Tsne.Embed(RandomPoints(40, 5, seed: 23), new TsneOptions(Perplexity: 5, Theta: -1)));
    }
}
