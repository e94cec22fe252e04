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
    /// model's size: smooth blobs and stripes, a simple stand-in for the paper's CPPN "regular patterns".
    /// </summary>
    LowResolution,
}

/// <summary>
/// Settings of the evolutionary search for fooling images. Nguyen et al. used MAP-Elites with one niche per class,
/// a population of 400 and up to thousands of generations; the defaults are smaller so that a notebook runs in seconds.
/// </summary>
/// <param name="Generations">Most generations after the random start (0: the random start only).</param>
/// <param name="Population">Offspring per generation, all evaluated in one batched forward pass.</param>
/// <param name="MutationRate">Probability that a gene is mutated in an offspring.</param>
/// <param name="MutationStrength">Standard deviation of the Gaussian change of a mutated gene (genes are pixel values in [0,1]).</param>
/// <param name="Encoding">How a genome becomes an image.</param>
/// <param name="GenomeSize">Side of the genome image for <see cref="GenomeEncoding.LowResolution"/> (ignored for Direct).</param>
/// <param name="Goal">The softmax probability of its class at which an elite counts as fooling; the search stops when every class reaches it.</param>
/// <param name="Seed">Seed of every random choice, so a run can be repeated exactly.</param>
public sealed record EvolutionOptions(int Generations = 200, int Population = 100, double MutationRate = 0.1, double MutationStrength = 0.3,
    GenomeEncoding Encoding = GenomeEncoding.Direct, int GenomeSize = 7, double Goal = 0.99, int Seed = 0)
{
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
        FoolingImages.CheckGoal(Goal);
    }
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
        long[] genomeShape = options.Encoding == GenomeEncoding.Direct
            ? [input.Channels, input.Height, input.Width]
            : [input.Channels, options.GenomeSize, options.GenomeSize];
        using var random = new Generator((ulong)options.Seed, device);
        int size = options.Population, niches = classes.Count;

        using var mode = model.EvaluationMode();
        // Generation 0: random genomes; each niche takes the best of them for its class.
        var start = rand([size, .. genomeShape], generator: random, device: device);
        var (fitness, best) = NicheFitness(model, Render(start, options.Encoding, input), classes).max(0);
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
                var (childFitness, bestChild) = NicheFitness(model, Render(offspring, options.Encoding, input), classes).max(0);
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
        return Result(model, Render(elites, options.Encoding, input), classes, history, reachedAt, options.Goal, forwardPasses);
    }

    /// <summary>The images the genomes (P x C x h x w) stand for: themselves, or enlarged bilinearly to the model's size.</summary>
    static Tensor Render(Tensor genomes, GenomeEncoding encoding, InputSpec input) => encoding == GenomeEncoding.Direct
        ? genomes
        : nn.functional.interpolate(genomes, [input.Height, input.Width], mode: InterpolationMode.Bilinear, align_corners: false);

    /// <summary>Each gene changes with probability MutationRate by a Gaussian step; values are clamped to [0,1].</summary>
    static Tensor Mutate(Tensor parents, EvolutionOptions options, Generator random)
    {
        var mutated = rand(parents.shape, generator: random, device: parents.device).lt(options.MutationRate);
        var change = randn(parents.shape, generator: random, device: parents.device) * options.MutationStrength;
        return (parents + change * mutated).clamp(0, 1);
    }

    /// <summary>P x K: the probability of each requested class for each image, one batched forward pass.</summary>
    static Tensor NicheFitness(VisionModel model, Tensor images, IReadOnlyList<int> classes) =>
        PickClasses(nn.functional.softmax(model.Module.forward(images), 1), classes);

    static double[] ToArray(Tensor values) => values.to_type(ScalarType.Float64).cpu().data<double>().ToArray();
}
