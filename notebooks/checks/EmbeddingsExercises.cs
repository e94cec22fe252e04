using WhatNetworksLearn.Data;
using WhatNetworksLearn.Features;
using WhatNetworksLearn.Notebook;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Exercises;

/// <summary>
/// The checks of notebook 04-embeddings' exercises. Each computes the expected answer with the kit's
/// <see cref="Embeddings"/> and <see cref="Tsne"/> on the notebook's own embeddings, so the notebook never shows it.
/// </summary>
public static class EmbeddingsExercises
{
    /// <summary>How many of the first images exercise 1 uses as queries; the rest of the sample is the database.</summary>
    const int Queries = 50;

    /// <summary>
    /// Exercise 1: the k nearest neighbours by Euclidean distance written by the student, <c>yours(queries, database, k)</c>
    /// (Q x k indices into the database, nearest first), compared with <see cref="Embeddings.NearestNeighbours"/>.
    /// </summary>
    public static ExerciseResult Nearest(Func<Tensor, Tensor, int, Tensor?> yours, Tensor embeddings)
    {
        const int k = 6;
        using var scope = NewDisposeScope();
        var queries = embeddings.narrow(0, 0, Queries);
        var database = embeddings.narrow(0, Queries, embeddings.shape[0] - Queries);
        var (indices, _) = Embeddings.NearestNeighbours(queries, database, k);
        return Exercise.Implementation("Nearest neighbours", () => yours(queries.clone(), database.clone(), k), tensor(indices),
            "Row q of your result lists database rows, nearest to query q first, by Euclidean distance. Close means a small " +
            "distance, not a large dot product, and the indices count database rows from 0.",
            tolerance: 1e-6);
    }

    /// <summary>The choices of exercise 2, by letter.</summary>
    static readonly (string Letter, string Class)[] GainChoices = [("a", "Trouser"), ("b", "Shirt"), ("c", "Sandal"), ("d", "Bag")];

    /// <summary>
    /// Exercise 2: predicted before counting: for which of four classes does the share of images whose nearest other
    /// image has the same class grow most from pixel space to embedding space?
    /// </summary>
    public static ExerciseResult LargestGain(string? prediction, Tensor embeddings, Tensor pixels, IReadOnlyList<int> labels)
    {
        const string title = "The class the embedding helps most";
        if (Exercise.Unanswered(title, prediction, out var unanswered))
            return unanswered;
        using var quiet = ProgressDisplay.Silence();   // a check shows its verdict and nothing else
        using var scope = NewDisposeScope();
        var classes = tensor(labels.Select(l => (long)l).ToArray());
        Tensor NearestOther(Tensor space)
        {
            var distances = cdist(space, space);
            distances.diagonal().fill_(double.PositiveInfinity);   // an image is not its own neighbour
            return distances.argmin(1);
        }
        var nearestPixel = NearestOther(pixels.to_type(ScalarType.Float32));
        var samePixel = classes.index_select(0, nearestPixel).eq(classes);
        var sameEmbedding = classes.index_select(0, NearestOther(embeddings.to_type(ScalarType.Float32))).eq(classes);
        double Share(Tensor same, Tensor ofClass) => same.logical_and(ofClass).sum().item<long>() / (double)ofClass.sum().item<long>();
        var names = FashionMnist.ClassNames.ToList();
        var gains = GainChoices.Select(choice =>
        {
            var ofClass = classes.eq(names.IndexOf(choice.Class));
            return (choice.Letter, choice.Class, Pixel: Share(samePixel, ofClass), Embedding: Share(sameEmbedding, ofClass), OfClass: ofClass);
        }).ToList();
        var best = gains.MaxBy(g => g.Embedding - g.Pixel);
        // Where the winner's pixel-space neighbours go wrong: the class they most often have instead.
        var wrongNeighbours = classes.index_select(0, nearestPixel)[best.OfClass.logical_and(samePixel.logical_not())].data<long>().ToArray();
        string confusion = wrongNeighbours.Length == 0 ? ""
            : $" In pixel space a {best.Class.ToLowerInvariant()}'s nearest image, when of another class, is most often a " +
              $"{names[(int)wrongNeighbours.GroupBy(c => c).MaxBy(g => g.Count())!.Key].ToLowerInvariant()} " +
              $"({wrongNeighbours.GroupBy(c => c).Max(g => g.Count())} of {wrongNeighbours.Length} times).";
        var hardest = gains.MinBy(g => g.Embedding);
        return Exercise.Prediction(title, prediction, best.Letter,
            $"Share of images whose nearest other image has their class, pixels then embedding: " +
            $"{string.Join("; ", gains.Select(g => $"{g.Class} {g.Pixel:P0} then {g.Embedding:P0}"))}.{confusion} A large gain needs two things: " +
            "pixels that mislead (a class whose images vary in shape, or look like another class's) and an embedding that does not. A class " +
            "with a silhouette of its own is found by its pixels already, so it has little to gain; a class the network itself confuses with " +
            $"others cannot gain all the way: in the embedding a {hardest.Class.ToLowerInvariant()} still finds its own class only " +
            $"{hardest.Embedding:P0} of the time.");
    }

    /// <summary>How many of the sample's points the t-SNE gradient of exercise 3 is computed over.</summary>
    const int GradientPoints = 300;

    /// <summary>The points whose gradient exercise 3 checks.</summary>
    static readonly int[] GradientChecked = [0, 1, 123, 299];

    /// <summary>
    /// Exercise 3: the t-SNE gradient of one point written by the student, <c>yours(p, y, i)</c> (a 2-vector), with p the
    /// dense affinities (N x N) of the first <see cref="GradientPoints"/> embeddings and y their places on the notebook's
    /// t-SNE map (N x 2), compared with <see cref="Tsne.ExactGradient"/>.
    /// </summary>
    public static ExerciseResult TsneGradient(Func<Tensor, Tensor, int, Tensor?> yours, Tensor embeddings, TsneResult map)
    {
        using var scope = NewDisposeScope();
        var affinities = Tsne.Affinities(embeddings.narrow(0, 0, GradientPoints), perplexity: 30);
        var dense = new double[GradientPoints * GradientPoints];
        for (int i = 0; i < GradientPoints; i++)
            for (int k = affinities.RowStart[i]; k < affinities.RowStart[i + 1]; k++)
                dense[i * GradientPoints + affinities.Columns[k]] = affinities.Values[k];
        var p = tensor(dense).reshape(GradientPoints, GradientPoints);
        var y = map.ToTensor().narrow(0, 0, GradientPoints).to_type(ScalarType.Float64);
        var gradient = tensor(Tsne.ExactGradient(affinities, y.flatten().data<double>().ToArray())).reshape(GradientPoints, 2);
        var expected = gradient.index_select(0, tensor(GradientChecked.Select(i => (long)i).ToArray()));
        return Exercise.Implementation("The t-SNE gradient of one point", () =>
            {
                var answers = GradientChecked.Select(i => yours(p.clone(), y.clone(), i)).ToList();
                return answers.Any(a => a is null) ? null : stack(answers!);
            }, expected,
            "Check three things: q is the kernel divided by its sum over all pairs of different points (the diagonal, where the kernel " +
            "is 1, left out), the difference is y_i - y_j (not y_j - y_i), and the factor 4 is there.",
            tolerance: 1e-6);
    }
}
