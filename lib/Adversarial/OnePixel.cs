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
/// target class (targeted, raised). The populations of all images still under attack go through the network together,
/// in batches of a few thousand candidates, and an image leaves the search as soon as one of its candidates succeeds.
/// Every image draws its random numbers from its own generator seeded with <see cref="OnePixelOptions.Seed"/>, so an
/// image's attack is the same whichever other images share its batch.
/// </summary>
public sealed class OnePixel(VisionModel model, OnePixelOptions? options = null) : IAttack
{
    public OnePixelOptions Options { get; } = options ?? new OnePixelOptions();

    /// <summary>Pixel values per batched forward pass of candidate images: a few thousand small images at once, a dozen photos.</summary>
    const long PixelsPerPass = 1 << 21;

    public AttackResult Run(Tensor pixels, Tensor labels, Targets? targets = null) => Attack(pixels, labels, targets).Attack;

    /// <summary>Attacks each image of the batch (N x C x H x W in [0,1]) with its true label, or towards its target (one for the batch, or one per image).</summary>
    public OnePixelResult Attack(Tensor pixels, Tensor labels, Targets? targets = null)
    {
        using var scope = NewDisposeScope();
        var (original, goal) = AttackSteps.Prepare(model, pixels, labels, targets);
        Options.Validate(pixels.shape[2], pixels.shape[3]);
        using (no_grad())
        using (model.EvaluationMode())   // the network as it answers at test time, dropout and batch norm included
        {
            var (best, generations) = Evolve(original, goal);
            var coordinates = best[.., .., ..2].round().to_type(ScalarType.Int32).cpu().data<int>().ToArray();
            int k = Options.Pixels;
            var changed = Enumerable.Range(0, (int)pixels.shape[0])
                .Select(i => (IReadOnlyList<ChangedPixel>)Enumerable.Range(0, k).Select(j => new ChangedPixel(coordinates[2 * (i * k + j)], coordinates[2 * (i * k + j) + 1])).ToList())
                .ToList();
            return new OnePixelResult(AttackSteps.Result(model, original, Apply(original, best), goal), changed, generations);
        }
    }

    /// <summary>
    /// Differential evolution for all images (N x C x H x W) at once; returns each image's best candidate (N x k x (2 + C))
    /// and the generations it used. An image stops evolving at the generation in which one of its candidates succeeds.
    /// </summary>
    (Tensor Best, int[] Generations) Evolve(Tensor images, AttackGoal goal)
    {
        int n = (int)images.shape[0], k = Options.Pixels, size = Options.Population;
        long channels = images.shape[1], height = images.shape[2], width = images.shape[3];
        var device = images.device;
        var generators = Enumerable.Range(0, n).Select(_ => new Generator((ulong)Options.Seed, device)).ToArray();
        try
        {
            // A candidate is k rows of (x, y, colour channels...). Start positions are distinct within a candidate.
            var population = Repair(stack(generators.Select(g =>
            {
                var start = rand(new long[] { size, height * width }, generator: g, device: device).argsort(1)[.., ..k];
                var x = (start % width).to_type(ScalarType.Float32) + rand(new long[] { size, k }, generator: g, device: device) - 0.5f;
                var y = start.div(width, rounding_mode: RoundingMode.floor).to_type(ScalarType.Float32) + rand(new long[] { size, k }, generator: g, device: device) - 0.5f;
                var colour = rand(new long[] { size, k, channels }, generator: g, device: device);
                return cat([x.unsqueeze(2), y.unsqueeze(2), colour], 2);
            }).ToArray()), height, width);   // N x P x k x (2 + C)
            var (loss, reached) = Evaluate(images, population, goal);
            var generations = new int[n];
            using var progress = ProgressDisplay.Start("One-pixel attack", Options.Iterations);
            for (int generation = 1; generation <= Options.Iterations; generation++)
            {
                using var generationScope = NewDisposeScope();   // frees each generation's candidates and their images
                var active = reached.any(1).logical_not().nonzero().flatten();
                if (active.shape[0] == 0)
                    break;
                var activeImages = active.cpu().data<long>().ToArray();
                foreach (var i in activeImages)
                    generations[i] = generation;
                var parents = population[active];
                var trial = Repair(Mutate(parents, activeImages.Select(i => generators[i]).ToArray()), height, width);
                var (trialLoss, trialReached) = Evaluate(images[active], trial, goal.Select(active));
                var better = trialLoss.le(loss[active]);
                population.index_put_(Survivors(parents, trial, better), active);
                loss.index_put_(where(better, trialLoss, loss[active]), active);
                reached.index_put_(where(better, trialReached, reached[active]), active);
                progress.Report(generation);
            }
            progress.Report(Options.Iterations, $"{reached.any(1).sum().item<long>()} of {n} images changed");
            // Prefer a candidate that reached the goal; among those (or among all), the fittest.
            var ranking = loss - reached.to_type(ScalarType.Float32) * 10;
            var best = population.gather(1, ranking.argmin(1).reshape(n, 1, 1, 1).expand(n, 1, k, population.shape[3])).squeeze(1);
            return (best, generations);   // in the caller's scope, like everything made here
        }
        finally
        {
            foreach (var generator in generators)
                generator.Dispose();
        }
    }

    /// <summary>
    /// DE/rand/1 for the populations of several images (A x P x k x (2 + C)), each with its own generator: for each
    /// candidate, three other distinct candidates r1, r2, r3 of the same image give x_r1 + F (x_r2 - x_r3).
    /// </summary>
    Tensor Mutate(Tensor population, Generator[] generators)
    {
        long size = population.shape[1];
        var device = population.device;
        // Random keys with the candidate itself pushed to the end: the first three in sorted order are three distinct others.
        var keys = stack(generators.Select(g => rand(new long[] { size, size }, generator: g, device: device)).ToArray()) + eye(size, device: device) * 2;
        var mutant = DeRand1(population, keys.argsort(2)[.., .., ..3], Options.MutationFactor);
        if (Options.CrossoverRate is not { } rate)
            return mutant;
        var take = stack(generators.Select(g => rand(population.shape[1..], generator: g, device: device)).ToArray()).lt(rate);
        return where(take, mutant, population);
    }

    /// <summary>
    /// The DE/rand/1 mutants x_r1 + F (x_r2 - x_r3) of populations (A x P x k x (2 + C)), r1, r2, r3 given per candidate
    /// as indices into its own image's population (A x P x 3).
    /// </summary>
    internal static Tensor DeRand1(Tensor population, Tensor others, float factor)
    {
        long images = population.shape[0], size = population.shape[1];
        Tensor Pick(int r) => population.gather(1, others[.., .., r].reshape(images, size, 1, 1).expand_as(population));
        return Pick(0) + factor * (Pick(1) - Pick(2));
    }

    /// <summary>Greedy selection: each trial (A x P x k x (2 + C)) replaces its parent where it is at least as fit (<paramref name="better"/>, A x P).</summary>
    internal static Tensor Survivors(Tensor parents, Tensor trial, Tensor better) =>
        where(better.reshape(better.shape[0], better.shape[1], 1, 1), trial, parents);

    /// <summary>Keeps positions inside the image and reflects colours that left [0,1] back into it (so they rarely sit exactly on 0 or 1).</summary>
    internal static Tensor Repair(Tensor population, long height, long width)
    {
        var x = population[.., .., .., 0..1].clamp(0, width - 1);
        var y = population[.., .., .., 1..2].clamp(0, height - 1);
        var colour = population[.., .., .., 2..].abs();
        colour = (1 - (1 - colour).abs()).clamp(0, 1);
        return cat([x, y, colour], 3);
    }

    /// <summary>
    /// The images (M x C x H x W) with the pixels of one candidate each (M x k x (2 + C)), built in one scatter: pixel
    /// (y, x) of image m takes the colour candidate m gives it.
    /// </summary>
    static Tensor Apply(Tensor images, Tensor candidates)
    {
        long count = candidates.shape[0], k = candidates.shape[1], channels = images.shape[1], height = images.shape[2], width = images.shape[3];
        var x = candidates[.., .., 0].round().to_type(ScalarType.Int64);
        var y = candidates[.., .., 1].round().to_type(ScalarType.Int64);
        var index = (y * width + x).unsqueeze(1).expand(count, channels, k);                // M x C x k
        var colours = candidates[.., .., 2..].permute(0, 2, 1).to_type(images.dtype);      // M x C x k
        return images.reshape(count, channels, height * width).clone().scatter_(2, index, colours).reshape(count, channels, height, width);
    }

    /// <summary>
    /// Loss to minimise (probability of the true class, or one minus that of the target) and whether the goal is reached,
    /// for every candidate of every image (A x P each), the candidate images built and sent through the network a few
    /// thousand at a time. Candidates that put two of their pixels on one position are never accepted.
    /// </summary>
    internal (Tensor Loss, Tensor Reached) Evaluate(Tensor images, Tensor population, AttackGoal goal)
    {
        long count = population.shape[0], size = population.shape[1];
        var candidates = population.reshape(count * size, population.shape[2], population.shape[3]);
        var owner = arange(count, device: images.device).repeat_interleave(size);
        int total = (int)(count * size), perPass = (int)Math.Max(1, PixelsPerPass / (images.numel() / count));
        var losses = new List<Tensor>();
        var reached = new List<Tensor>();
        for (int start = 0; start < total; start += perPass)
        {
            int end = Math.Min(start + perPass, total);
            var rows = owner[start..end];
            var probabilities = nn.functional.softmax(model.Module.forward(Apply(images[rows], candidates[start..end])), 1);
            var goalHere = goal.Select(rows);
            var probability = probabilities.gather(1, goalHere.Classes.unsqueeze(1)).squeeze(1);   // of the target, or of the true class
            losses.Add(goalHere.Targeted ? 1 - probability : probability);
            reached.Add(goalHere.ReachedBy(probabilities.argmax(1)));
        }
        var loss = cat(losses, 0).reshape(count, size);
        var position = (population[.., .., .., 1].round() * images.shape[3] + population[.., .., .., 0].round()).sort(2).Values;
        var collides = position.diff(dim: 2).eq(0).any(2);   // A x P
        return (where(collides, full_like(loss, float.PositiveInfinity), loss), cat(reached, 0).reshape(count, size).logical_and(collides.logical_not()));
    }
}
