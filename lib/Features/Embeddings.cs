using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Features;

/// <summary>
/// The last hidden layer's output, the image's most condensed description: images whose embeddings are close
/// are images the network considers alike.
/// </summary>
public static class Embeddings
{
    /// <summary>The embeddings (N x D, flattened, on the CPU) of images (N x C x H x W pixels), computed in batches.</summary>
    public static Tensor Of(VisionModel model, Tensor images, int batchSize = 250)
    {
        var layer = model.EmbeddingLayer ?? throw new InvalidOperationException($"{model.Name} names no embedding layer.");
        if (batchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(batchSize), $"The batch size must be at least 1 image; got {batchSize}.");
        if (images.shape[0] == 0)
            throw new ArgumentException("The image set is empty.", nameof(images));
        using var scope = NewDisposeScope();
        var parts = new List<Tensor>();
        for (long start = 0; start < images.shape[0]; start += batchSize)
        {
            var outputs = model.Activations(images.narrow(0, start, Math.Min(batchSize, images.shape[0] - start)), layer);
            using var output = outputs[layer];   // captured outputs belong to no scope: dispose them here
            parts.Add(output.flatten(1).cpu());
        }
        return cat(parts, 0).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// For each query (Q x D), the indices and Euclidean distances of the <paramref name="k"/> nearest rows of
    /// <paramref name="database"/> (M x D), nearest first.
    /// </summary>
    public static (long[,] Indices, float[,] Distances) NearestNeighbours(Tensor queries, Tensor database, int k)
    {
        if (k < 1 || k > database.shape[0])
            throw new ArgumentOutOfRangeException(nameof(k), $"k must be between 1 and the database size ({database.shape[0]}).");
        if (queries.shape[1] != database.shape[1])
            throw new ArgumentException($"Queries have {queries.shape[1]} dimensions but the database has {database.shape[1]}.");
        using var scope = NewDisposeScope();
        var distances = cdist(queries.to_type(ScalarType.Float32), database.to_type(ScalarType.Float32));
        var (values, indices) = distances.topk(k, dim: 1, largest: false, sorted: true);
        long q = queries.shape[0];
        var valueArray = values.contiguous().data<float>().ToArray();
        var indexArray = indices.contiguous().data<long>().ToArray();
        var resultIndices = new long[q, k];
        var resultDistances = new float[q, k];
        Buffer.BlockCopy(indexArray, 0, resultIndices, 0, indexArray.Length * sizeof(long));
        Buffer.BlockCopy(valueArray, 0, resultDistances, 0, valueArray.Length * sizeof(float));
        return (resultIndices, resultDistances);
    }

    /// <summary>
    /// Among neighbours found in one space (<paramref name="neighbours"/>[q, k], row indices of <paramref name="other"/>
    /// for the query with row index <paramref name="queries"/>[q]), the neighbour of its query's own class that lies
    /// farthest from its query in <paramref name="other"/> (N x D, for example the raw pixels): the clearest case of
    /// "the same class, though it looks different". Also returns the median distance in <paramref name="other"/> of all
    /// the neighbours, to compare it with; null when no neighbour shares its query's class.
    /// </summary>
    public static SameClassExample? FarthestSameClass(Tensor other, IReadOnlyList<int> labels, IReadOnlyList<int> queries, long[,] neighbours)
    {
        if (neighbours.GetLength(0) != queries.Count)
            throw new ArgumentException($"{queries.Count} queries but {neighbours.GetLength(0)} rows of neighbours.", nameof(neighbours));
        using var scope = NewDisposeScope();
        var space = other.flatten(1).to_type(ScalarType.Float32);
        var distances = new List<float>();
        SameClassExample? farthest = null;
        for (int q = 0; q < queries.Count; q++)
            for (int k = 0; k < neighbours.GetLength(1); k++)
            {
                long index = neighbours[q, k];
                float distance = (space[index] - space[queries[q]]).norm().item<float>();
                distances.Add(distance);
                if (labels[(int)index] == labels[queries[q]] && (farthest is null || distance > farthest.Distance))
                    farthest = new SameClassExample(q, k, index, distance, 0);
            }
        if (farthest is null)
            return null;
        distances.Sort();
        int mid = distances.Count / 2;
        float median = distances.Count % 2 == 1 ? distances[mid] : (distances[mid - 1] + distances[mid]) / 2;
        return farthest with { MedianDistance = median };
    }
}

/// <summary>
/// A neighbour of its query's class (query row <paramref name="Query"/>, rank <paramref name="Rank"/>, nearest 0, row
/// <paramref name="Index"/> of the data) at <paramref name="Distance"/> from its query in another space, where the
/// neighbours' median distance is <paramref name="MedianDistance"/>.
/// </summary>
public sealed record SameClassExample(int Query, int Rank, long Index, float Distance, float MedianDistance);
