using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Adversarial;

/// <summary>How a genome (the numbers evolution mutates) becomes an image.</summary>
public enum GenomeEncoding
{
    /// <summary>Every pixel is a gene (Nguyen et al.'s direct encoding): the results look like noise.</summary>
    Direct,

    /// <summary>
    /// A small image of <see cref="EvolutionOptions.GenomeSize"/> x GenomeSize pixels per channel, enlarged bilinearly to the
    /// model's size: smooth blobs and stripes.
    /// </summary>
    LowResolution,

    /// <summary>
    /// The weights of a small <see cref="Adversarial.Cppn"/> that draws the image (Nguyen et al.'s indirect encoding):
    /// repeated, symmetric, smooth "regular patterns".
    /// </summary>
    Cppn,
}

/// <summary>
/// Settings of the evolutionary search for fooling images. Nguyen et al. used MAP-Elites with one niche per class,
/// a population of 400 and up to thousands of generations; the defaults are smaller so that a notebook runs in seconds.
/// </summary>
/// <param name="Generations">Most generations after the random start (0: the random start only).</param>
/// <param name="Population">Offspring per generation, all evaluated in one batched forward pass.</param>
/// <param name="MutationRate">Probability that a gene is mutated in an offspring.</param>
/// <param name="MutationStrength">Standard deviation of the Gaussian change of a mutated gene (pixel genes lie in [0,1], CPPN weights in ±<see cref="Cppn.WeightLimit"/>).</param>
/// <param name="Encoding">How a genome becomes an image.</param>
/// <param name="GenomeSize">Side of the genome image for <see cref="GenomeEncoding.LowResolution"/> (ignored for Direct).</param>
/// <param name="Goal">The softmax probability of its class at which an elite counts as fooling; the search stops when every class reaches it.</param>
/// <param name="Seed">Seed of every random choice, so a run can be repeated exactly.</param>
public sealed record EvolutionOptions(int Generations = 200, int Population = 100, double MutationRate = 0.1, double MutationStrength = 0.3,
    GenomeEncoding Encoding = GenomeEncoding.Direct, int GenomeSize = 7, double Goal = 0.99, int Seed = 0)
{
    /// <summary>The network whose weights are the genome, for <see cref="GenomeEncoding.Cppn"/>.</summary>
    public Cppn Cppn { get; init; } = new();

    public void Validate(InputSpec input)
    {
        if (Generations < 0)
            throw new ArgumentOutOfRangeException(nameof(Generations), $"The number of generations cannot be negative; got {Generations}. Use 0 for the random start only.");
        if (Population < 2)
            throw new ArgumentOutOfRangeException(nameof(Population), $"Evolution needs a population of at least 2 offspring per generation; got {Population}.");
        if (!(MutationRate > 0 && MutationRate <= 1))
            throw new ArgumentOutOfRangeException(nameof(MutationRate), $"The mutation rate is the probability that a gene changes and must lie in (0,1]; got {MutationRate}.");
        if (!(MutationStrength > 0) || double.IsInfinity(MutationStrength))
            throw new ArgumentOutOfRangeException(nameof(MutationStrength), $"The mutation strength must be a positive pixel change (e.g. 0.3); got {MutationStrength}.");
        if (Encoding == GenomeEncoding.LowResolution && (GenomeSize < 1 || GenomeSize > Math.Min(input.Height, input.Width)))
            throw new ArgumentOutOfRangeException(nameof(GenomeSize), $"The low-resolution genome must be 1 to {Math.Min(input.Height, input.Width)} pixels wide (the image size); got {GenomeSize}.");
        if (Encoding == GenomeEncoding.Cppn)
            Cppn.Validate();
        FoolingImages.CheckGoal(Goal);
    }

    /// <summary>The shape of one genome for a model that takes <paramref name="input"/>.</summary>
    internal long[] GenomeShape(InputSpec input) => Encoding switch
    {
        GenomeEncoding.Direct => [input.Channels, input.Height, input.Width],
        GenomeEncoding.LowResolution => [input.Channels, GenomeSize, GenomeSize],
        _ => [Cppn.GenomeLength(input.Channels)],
    };

    /// <summary>The range every gene is kept in: pixel values, or the CPPN's weights.</summary>
    internal (double Min, double Max) GeneRange => Encoding == GenomeEncoding.Cppn ? (-Cppn.WeightLimit, Cppn.WeightLimit) : (0, 1);
}

public static partial class FoolingImages
{
    /// <summary>
    /// One fooling image per class by evolution, using only the network's probabilities and never a gradient
    /// (MAP-Elites with one niche per class, as Nguyen et al.). The archive keeps one elite genome per class: the
    /// genome with the highest probability of that class seen so far. Each generation, <see cref="EvolutionOptions.Population"/>
    /// offspring are made by mutating elites picked at random among the classes not yet at the goal, and the whole population goes through the network in one
    /// batch. Every offspring competes in every niche: a child of the "Sandal" elite can become the new "Bag" elite.
    /// An elite is only replaced by a better genome, so the best confidence of a class never falls.
    /// </summary>
    public static FoolingResult ByEvolution(VisionModel model, IReadOnlyList<int> classes, EvolutionOptions? options = null)
    {
        options ??= new EvolutionOptions();
        options.Validate(model.Input);
        CheckClasses(model, classes);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var device = model.Device;
        var input = model.Input;
        long[] genomeShape = options.GenomeShape(input);
        var (low, high) = options.GeneRange;
        using var random = new Generator((ulong)options.Seed, device);
        int size = options.Population, niches = classes.Count;

        using var mode = model.EvaluationMode();
        // Generation 0: random genomes, uniform over the genes' range; each niche takes the best of them for its class.
        var start = rand([size, .. genomeShape], generator: random, device: device) * (high - low) + low;
        var (fitness, best) = NicheFitness(model, Render(start, options, input), classes).max(0);
        var elites = start.index_select(0, best);
        var history = new List<double[]> { ToArray(fitness) };
        var reachedAt = new int?[niches];
        Record(reachedAt, history[0], options.Goal, 0);

        using (var progress = ProgressDisplay.Start("Evolving fooling images", options.Generations))
        {
            for (int generation = 1; generation <= options.Generations && reachedAt.Any(r => r is null); generation++)
            {
                using var generationScope = NewDisposeScope();
                // Parents come from the classes still below the goal: fooled classes need no more offspring.
                var unsolved = fitness.lt(options.Goal).to_type(ScalarType.Float32);
                var parents = elites.index_select(0, multinomial(unsolved, size, replacement: true, generator: random));
                var offspring = Mutate(parents, options, random);
                var (childFitness, bestChild) = NicheFitness(model, Render(offspring, options, input), classes).max(0);
                var better = childFitness.gt(fitness);
                var betterGenome = better.reshape([niches, .. genomeShape.Select(_ => 1L)]);
                elites = where(betterGenome, offspring.index_select(0, bestChild), elites).MoveToOuterDisposeScope();
                fitness = where(better, childFitness, fitness).MoveToOuterDisposeScope();
                var confidences = ToArray(fitness);
                history.Add(confidences);
                Record(reachedAt, confidences, options.Goal, generation);
                progress.Report(generation, Status(confidences, options.Goal));
            }
        }
        long forwardPasses = (long)size * history.Count;
        return Result(model, Render(elites, options, input), classes, history, reachedAt, options.Goal, forwardPasses);
    }

    /// <summary>The images the genomes stand for: themselves, enlarged bilinearly to the model's size, or drawn by their CPPNs.</summary>
    static Tensor Render(Tensor genomes, EvolutionOptions options, InputSpec input) => options.Encoding switch
    {
        GenomeEncoding.Direct => genomes,
        GenomeEncoding.LowResolution => nn.functional.interpolate(genomes, [input.Height, input.Width], mode: InterpolationMode.Bilinear, align_corners: false),
        _ => options.Cppn.Render(genomes, input.Channels, input.Height, input.Width),
    };

    /// <summary>Each gene changes with probability MutationRate by a Gaussian step; values are clamped to the genes' range.</summary>
    static Tensor Mutate(Tensor parents, EvolutionOptions options, Generator random)
    {
        var mutated = rand(parents.shape, generator: random, device: parents.device).lt(options.MutationRate);
        var change = randn(parents.shape, generator: random, device: parents.device) * options.MutationStrength;
        var (low, high) = options.GeneRange;
        return (parents + change * mutated).clamp(low, high);
    }

    /// <summary>P x K: the probability of each requested class for each image, one batched forward pass.</summary>
    static Tensor NicheFitness(VisionModel model, Tensor images, IReadOnlyList<int> classes) =>
        PickClasses(nn.functional.softmax(model.Module.forward(images), 1), classes);

    static double[] ToArray(Tensor values) => values.to_type(ScalarType.Float64).cpu().data<double>().ToArray();
}
