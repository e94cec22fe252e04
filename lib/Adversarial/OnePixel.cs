using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Adversarial;

/// <summary>
/// Settings of the one-pixel attack. Su, Vargas and Sakurai used a population of 400, 100 generations, F = 0.5 and no
/// crossover; the defaults here (population 100, 30 generations) are smaller so that a notebook runs in seconds.
/// </summary>
/// <param name="Pixels">How many pixels (k) the attack may change.</param>
/// <param name="Population">Candidate solutions per generation, all evaluated in one batched forward pass.</param>
/// <param name="Iterations">Generations of differential evolution after the random start (0: random search only).</param>
/// <param name="MutationFactor">F in x_r1 + F (x_r2 - x_r3).</param>
/// <param name="CrossoverRate">Binomial crossover rate; null (the paper's scheme) keeps the mutant as it is.</param>
/// <param name="Seed">Seed of every random choice, so a run can be repeated exactly.</param>
public sealed record OnePixelOptions(int Pixels = 1, int Population = 100, int Iterations = 30, float MutationFactor = 0.5f,
    float? CrossoverRate = null, int Seed = 0)
{
    public void Validate(long height, long width)
    {
        if (Pixels < 1)
            throw new ArgumentOutOfRangeException(nameof(Pixels), $"The attack must change at least 1 pixel; got {Pixels}.");
        if (Pixels > height * width)
            throw new ArgumentOutOfRangeException(nameof(Pixels), $"Cannot change {Pixels} distinct pixels of a {height} x {width} image.");
        if (Population < 4)
            throw new ArgumentOutOfRangeException(nameof(Population), $"Differential evolution needs a population of at least 4 (a parent and three others); got {Population}.");
        if (Iterations < 0)
            throw new ArgumentOutOfRangeException(nameof(Iterations), $"The number of iterations (generations) cannot be negative; got {Iterations}. Use 0 for random search only.");
        if (!float.IsFinite(MutationFactor) || MutationFactor <= 0)
            throw new ArgumentOutOfRangeException(nameof(MutationFactor), $"The mutation factor F must be a positive number (the paper uses 0.5); got {MutationFactor}.");
        if (CrossoverRate is { } rate && !(rate is >= 0 and <= 1))
            throw new ArgumentOutOfRangeException(nameof(CrossoverRate), $"The crossover rate is a probability and must lie in [0,1], or be null for no crossover; got {rate}.");
    }
}

/// <summary>A pixel the attack changed, in image coordinates (X: column, Y: row).</summary>
public sealed record ChangedPixel(int X, int Y);

/// <summary>
/// What the one-pixel attack did: the usual <see cref="AttackResult"/>, the pixels it changed in each image (to circle
/// them in a figure) and how many generations each image needed.
/// </summary>
public sealed record OnePixelResult(AttackResult Attack, IReadOnlyList<IReadOnlyList<ChangedPixel>> ChangedPixels,
    IReadOnlyList<int> Generations) : IDisposable
{
    public void Dispose() => Attack.Dispose();
}

/// <summary>
/// The one-pixel attack (Su, Vargas and Sakurai, 2019): change the position and colour of k pixels, chosen by
/// differential evolution, which needs only the model's probabilities and no gradients. A candidate is
/// (x, y, colour) for each of the k pixels; new candidates come from DE/rand/1 mutation and replace their parent
/// when they are at least as fit. Fitness is the probability of the true class (untargeted, lowered) or of the
/// target class (targeted, raised). The population of one image is one batch of the network.
/// </summary>
public sealed class OnePixel(VisionModel model, OnePixelOptions? options = null) : IAttack
{
    public OnePixelOptions Options { get; } = options ?? new OnePixelOptions();

    public AttackResult Run(Tensor pixels, Tensor labels, int? targetClass = null) => Attack(pixels, labels, targetClass).Attack;

    /// <summary>Attacks each image of the batch (N x C x H x W in [0,1]) with its true label, or towards one target class.</summary>
    public OnePixelResult Attack(Tensor pixels, Tensor labels, int? targetClass = null)
    {
        using var scope = NewDisposeScope();
        var (original, onDevice) = AttackSteps.Prepare(model, pixels, labels, targetClass);
        Options.Validate(pixels.shape[2], pixels.shape[3]);
        var labelValues = onDevice.cpu().data<long>().ToArray();
        using var generator = new Generator((ulong)Options.Seed, model.Device);
        var adversarial = new List<Tensor>();
        var changed = new List<IReadOnlyList<ChangedPixel>>();
        var generations = new List<int>();
        using (var progress = ProgressDisplay.Start("One-pixel attack", (int)pixels.shape[0]))
        using (no_grad())
        {
            for (int i = 0; i < labelValues.Length; i++)
            {
                var (image, positions, used) = AttackOne(original[i], (int)labelValues[i], targetClass, generator);
                adversarial.Add(image);
                changed.Add(positions);
                generations.Add(used);
                progress.Report(i + 1);
            }
        }
        return new OnePixelResult(AttackSteps.Result(model, original, stack(adversarial), onDevice, targetClass), changed, generations);
    }

    /// <summary>Differential evolution for one image (C x H x W); returns the best image, its changed pixels and the generations used.</summary>
    (Tensor Image, IReadOnlyList<ChangedPixel> Pixels, int Generations) AttackOne(Tensor image, int label, int? target, Generator generator)
    {
        int k = Options.Pixels, size = Options.Population;
        long channels = image.shape[0], height = image.shape[1], width = image.shape[2];
        var device = image.device;
        // A candidate is k rows of (x, y, colour channels...). Start positions are distinct within a candidate.
        var start = rand(new long[] { size, height * width }, generator: generator, device: device).argsort(1)[.., ..k];
        var x = (start % width).to_type(ScalarType.Float32) + rand(new long[] { size, k }, generator: generator, device: device) - 0.5f;
        var y = start.div(width, rounding_mode: RoundingMode.floor).to_type(ScalarType.Float32) + rand(new long[] { size, k }, generator: generator, device: device) - 0.5f;
        var colour = rand(new long[] { size, k, channels }, generator: generator, device: device);
        var population = Repair(cat([x.unsqueeze(2), y.unsqueeze(2), colour], 2), height, width);   // P x k x (2 + C)
        var (loss, reached) = Evaluate(image, population, label, target);

        int generation = 0;
        while (!reached.any().item<bool>() && generation < Options.Iterations)
        {
            generation++;
            using var generationScope = NewDisposeScope();   // frees the P candidate images of each generation
            var trial = Repair(Mutate(population, generator), height, width);
            var (trialLoss, trialReached) = Evaluate(image, trial, label, target);
            var better = trialLoss.le(loss);
            population = where(better.reshape(-1, 1, 1), trial, population).MoveToOuterDisposeScope();
            loss = where(better, trialLoss, loss).MoveToOuterDisposeScope();
            reached = where(better, trialReached, reached).MoveToOuterDisposeScope();
        }
        // Prefer a candidate that reached the goal; among those (or among all), the fittest.
        var ranking = loss - reached.to_type(ScalarType.Float32) * 10;
        var best = population[ranking.argmin()].unsqueeze(0);
        var bestImage = Apply(image, best)[0];
        var coordinates = best[0, .., ..2].round().to_type(ScalarType.Int32).cpu().data<int>().ToArray();
        var changed = Enumerable.Range(0, k).Select(j => new ChangedPixel(coordinates[2 * j], coordinates[2 * j + 1])).ToList();
        return (bestImage, changed, generation);   // in the caller's scope, like everything made here
    }

    /// <summary>DE/rand/1: for each candidate, three other distinct candidates r1, r2, r3 give x_r1 + F (x_r2 - x_r3).</summary>
    Tensor Mutate(Tensor population, Generator generator)
    {
        long size = population.shape[0];
        var device = population.device;
        // Random keys with the candidate itself pushed to the end: the first three in sorted order are three distinct others.
        var keys = rand(new long[] { size, size }, generator: generator, device: device) + eye(size, device: device) * 2;
        var others = keys.argsort(1)[.., ..3];
        var mutant = population[others[.., 0]] + Options.MutationFactor * (population[others[.., 1]] - population[others[.., 2]]);
        if (Options.CrossoverRate is not { } rate)
            return mutant;
        var take = rand(mutant.shape, generator: generator, device: device).lt(rate);
        return where(take, mutant, population);
    }

    /// <summary>Keeps positions inside the image and reflects colours that left [0,1] back into it (so they rarely sit exactly on 0 or 1).</summary>
    static Tensor Repair(Tensor population, long height, long width)
    {
        var x = population[.., .., 0..1].clamp(0, width - 1);
        var y = population[.., .., 1..2].clamp(0, height - 1);
        var colour = population[.., .., 2..].abs();
        colour = (1 - (1 - colour).abs()).clamp(0, 1);
        return cat([x, y, colour], 2);
    }

    /// <summary>The images of all candidates (P x C x H x W), built in one scatter: pixel (y, x) of candidate p takes its colour.</summary>
    static Tensor Apply(Tensor image, Tensor population)
    {
        long size = population.shape[0], k = population.shape[1], channels = image.shape[0], height = image.shape[1], width = image.shape[2];
        var x = population[.., .., 0].round().to_type(ScalarType.Int64);
        var y = population[.., .., 1].round().to_type(ScalarType.Int64);
        var index = (y * width + x).unsqueeze(1).expand(size, channels, k);       // P x C x k
        var colours = population[.., .., 2..].permute(0, 2, 1).to_type(image.dtype);   // P x C x k
        var images = image.reshape(1, channels, height * width).expand(size, channels, height * width).clone();
        return images.scatter_(2, index, colours).reshape(size, channels, height, width);
    }

    /// <summary>
    /// Loss to minimise (probability of the true class, or one minus that of the target) and whether the goal is reached,
    /// for every candidate in one forward pass. Candidates that put two of their pixels on one position are never accepted.
    /// </summary>
    (Tensor Loss, Tensor Reached) Evaluate(Tensor image, Tensor population, int label, int? target)
    {
        var probabilities = nn.functional.softmax(model.Module.forward(Apply(image, population)), 1);
        var prediction = probabilities.argmax(1);
        var loss = target is { } goal ? 1 - probabilities[.., goal] : probabilities[.., label];
        var reached = target is { } t ? prediction.eq(t) : prediction.ne(label);
        var position = (population[.., .., 1].round() * image.shape[2] + population[.., .., 0].round()).sort(1).Values;
        var collides = position.diff(dim: 1).eq(0).any(1);
        return (where(collides, full_like(loss, float.PositiveInfinity), loss), reached.logical_and(collides.logical_not()));
    }
}
