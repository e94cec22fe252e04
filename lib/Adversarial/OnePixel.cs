using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Adversarial;

/// <summary>Where the one-pixel attack's new candidates come from, generation after generation.</summary>
public enum OnePixelSearch
{
    /// <summary>Differential evolution (Su et al.): each new candidate is built from three of the population (DE/rand/1) and replaces its parent if it is at least as good.</summary>
    Evolution,

    /// <summary>The control: each generation is drawn afresh, positions and values uniformly at random, as the random start is.</summary>
    Random,
}

/// <summary>
/// Settings of the one-pixel attack. The defaults are Su, Vargas and Sakurai's: a population of 400, up to 100
/// generations, F = 0.5 and no crossover.
/// </summary>
/// <param name="Pixels">How many pixels (k) the attack may change.</param>
/// <param name="Population">Candidate solutions per generation, all evaluated in one batched forward pass.</param>
/// <param name="Iterations">Generations after the random start (0: the random start only).</param>
/// <param name="MutationFactor">F in x_r1 + F (x_r2 - x_r3).</param>
/// <param name="CrossoverRate">Binomial crossover rate; null (the paper's scheme) keeps the mutant as it is.</param>
/// <param name="Seed">Seed of every random choice, so a run can be repeated exactly.</param>
/// <param name="Search">Differential evolution, or random search with the same budget as its control.</param>
public sealed record OnePixelOptions(int Pixels = 1, int Population = 400, int Iterations = 100, float MutationFactor = 0.5f,
    float? CrossoverRate = null, int Seed = 0, OnePixelSearch Search = OnePixelSearch.Evolution)
{
    /// <summary>The most candidates an image can cost, each one model query: the random start and every generation (the paper's 400 x 101 = 40,400).</summary>
    public int Budget => Population * (Iterations + 1);

    public void Validate(long height, long width)
    {
        if (Pixels < 1)
            throw new ArgumentOutOfRangeException(nameof(Pixels), $"The attack must change at least 1 pixel; got {Pixels}.");
        if (Pixels > height * width)
            throw new ArgumentOutOfRangeException(nameof(Pixels), $"Cannot change {Pixels} distinct pixels of a {height} x {width} image.");
        if (Population < 4)
            throw new ArgumentOutOfRangeException(nameof(Population), $"Differential evolution needs a population of at least 4 (a parent and three others); got {Population}.");
        if (Iterations < 0)
            throw new ArgumentOutOfRangeException(nameof(Iterations), $"The number of iterations (generations) cannot be negative; got {Iterations}. Use 0 for the random start only.");
        if ((long)Population * (Iterations + 1) > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(Iterations), $"Population x (Iterations + 1) candidates per image must stay below {int.MaxValue}; got {Population} x {Iterations + 1}.");
        if (!float.IsFinite(MutationFactor) || MutationFactor <= 0)
            throw new ArgumentOutOfRangeException(nameof(MutationFactor), $"The mutation factor F must be a positive number (the paper uses 0.5); got {MutationFactor}.");
        if (CrossoverRate is { } rate && !(rate is >= 0 and <= 1))
            throw new ArgumentOutOfRangeException(nameof(CrossoverRate), $"The crossover rate is a probability and must lie in [0,1], or be null for no crossover; got {rate}.");
    }
}

/// <summary>A pixel the attack changed, in image coordinates (X: column, Y: row).</summary>
public sealed record ChangedPixel(int X, int Y);

/// <summary>What the one-pixel attack did, and what each success cost in model queries.</summary>
/// <param name="Attack">The adversarial images and the model's answers, as every attack reports them.</param>
/// <param name="ChangedPixels">The pixels it changed in each image (to circle them in a figure).</param>
/// <param name="QueriesToSuccess">
/// Per image, the candidates sent through the network until the attack succeeded: Population for the random start and
/// Population for every generation after it, up to the one in which a candidate first succeeded; null where it failed
/// (it then used its whole <see cref="OnePixelOptions.Budget"/>).
/// </param>
public sealed record OnePixelResult(AttackResult Attack, IReadOnlyList<IReadOnlyList<ChangedPixel>> ChangedPixels,
    IReadOnlyList<int?> QueriesToSuccess) : IDisposable
{
    /// <summary>
    /// How many images the attack broke within each budget of queries per image. A search with a smaller budget is this
    /// one cut short, so one run gives the whole curve of success against budget.
    /// </summary>
    public int[] SuccessesWithin(IEnumerable<int> budgets) => OnePixel.SuccessesWithin(QueriesToSuccess, budgets);

    public void Dispose() => Attack.Dispose();
}

/// <summary>
/// The one-pixel attack (Su, Vargas and Sakurai, 2019): change the position and colour of k pixels, chosen by
/// differential evolution, which needs only the model's probabilities and no gradients. A candidate is
/// (x, y, colour) for each of the k pixels; new candidates come from DE/rand/1 mutation and replace their parent
/// when they are at least as fit. Fitness is the probability of the true class (untargeted, lowered) or of the
/// target class (targeted, raised). With <see cref="OnePixelSearch.Random"/>, every generation is drawn afresh instead:
/// the same budget spent on blind guesses, the control that shows what the evolution adds.
/// The populations of all images still under attack go through the network together, in batches of
/// <see cref="PixelsPerPass"/> pixel values (about 130 Fashion-MNIST candidates), and an image leaves the search after
/// the generation in which one of its candidates succeeds.
/// Every image draws its random numbers from its own generator seeded with <see cref="OnePixelOptions.Seed"/>, so an
/// image's attack is the same whichever other images share its batch, and both searches start from the same population.
/// </summary>
public sealed class OnePixel(VisionModel model, OnePixelOptions? options = null) : IAttack
{
    public OnePixelOptions Options { get; } = options ?? new OnePixelOptions();

    /// <summary>
    /// Pixel values per batched forward pass of candidate images: about 130 Fashion-MNIST images at once, one photo.
    /// Passes twenty times larger ran at less than half the speed on the CPU: their activations are too large for the
    /// memory allocator to reuse, and the kernel spent almost as long mapping fresh memory as the network computing.
    /// </summary>
    const long PixelsPerPass = 100_000;

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
            var (best, queries) = Search(original, goal);
            var coordinates = best[.., .., ..2].round().to_type(ScalarType.Int32).cpu().data<int>().ToArray();
            int k = Options.Pixels;
            var changed = Enumerable.Range(0, (int)pixels.shape[0])
                .Select(i => (IReadOnlyList<ChangedPixel>)Enumerable.Range(0, k).Select(j => new ChangedPixel(coordinates[2 * (i * k + j)], coordinates[2 * (i * k + j) + 1])).ToList())
                .ToList();
            var attack = AttackSteps.Result(model, original, Apply(original, best), goal);
            var success = attack.Success.data<bool>().ToArray();
            return new OnePixelResult(attack, changed, queries.Select((q, i) => success[i] ? q : (int?)null).ToArray());
        }
    }

    /// <summary>
    /// Every one-pixel change on a grid, for each image (N x C x H x W in [0,1]): each position set to each of
    /// <paramref name="values"/> (in every channel: grey levels), H x W x V changed images, sent through the network in
    /// batches as the searches' candidates are. Returns per image how many of them change the prediction away from the
    /// label (or, with a target, to it). Zero means that no pixel, set to any of these values, changes the answer; a
    /// value between them still might. Small images only: a 28 x 28 image with 5 values takes 3,920 forward passes.
    /// </summary>
    public int[] Scan(Tensor pixels, Tensor labels, IReadOnlyList<float> values, Targets? targets = null)
    {
        if (values.Count == 0 || values.Any(v => !(v is >= 0 and <= 1)))
            throw new ArgumentOutOfRangeException(nameof(values), $"Give the pixel values to try, at least one, each in [0,1]; got [{string.Join(", ", values)}].");
        using var scope = NewDisposeScope();
        var (original, goal) = AttackSteps.Prepare(model, pixels, labels, targets);
        long channels = pixels.shape[1], height = pixels.shape[2], width = pixels.shape[3];
        using (no_grad())
        using (model.EvaluationMode())
        {
            // One candidate per position and value, (x, y, value in every channel), the same for every image.
            var position = arange(height * width, device: original.device).repeat_interleave(values.Count);
            var x = (position % width).to_type(ScalarType.Float32);
            var y = position.div(width, rounding_mode: RoundingMode.floor).to_type(ScalarType.Float32);
            var value = tensor(values.ToArray(), device: original.device).repeat(height * width);
            var grid = cat([x.unsqueeze(1), y.unsqueeze(1), value.unsqueeze(1).expand(-1, channels)], 1).unsqueeze(1);   // HWV x 1 x (2 + C)
            var counts = new int[pixels.shape[0]];
            for (long i = 0; i < pixels.shape[0]; i++)   // one image at a time keeps the candidates' memory small
            {
                using var image = NewDisposeScope();
                var reached = Evaluate(original.narrow(0, i, 1), grid.unsqueeze(0), goal.Select(tensor(new long[] { i }, device: original.device))).Reached;
                counts[i] = (int)reached.sum().item<long>();
            }
            return counts;
        }
    }

    /// <summary>How many of the images were broken within each budget, given the queries each success took (null: never).</summary>
    public static int[] SuccessesWithin(IReadOnlyList<int?> queriesToSuccess, IEnumerable<int> budgets) =>
        budgets.Select(budget => queriesToSuccess.Count(q => q <= budget)).ToArray();

    /// <summary>
    /// The search for all images (N x C x H x W) at once; returns each image's best candidate (N x k x (2 + C)) and the
    /// candidates it cost. An image stops at the generation in which one of its candidates succeeds.
    /// </summary>
    (Tensor Best, int[] Queries) Search(Tensor images, AttackGoal goal)
    {
        int n = (int)images.shape[0], k = Options.Pixels, size = Options.Population;
        long height = images.shape[2], width = images.shape[3];
        var generators = Enumerable.Range(0, n).Select(_ => new Generator((ulong)Options.Seed, images.device)).ToArray();
        try
        {
            var population = RandomCandidates(generators, images.shape[1], height, width, images.device);   // N x P x k x (2 + C)
            var (loss, reached) = Evaluate(images, population, goal);
            var generations = new int[n];   // generations each image went through after the random start
            using var progress = ProgressDisplay.Start(Options.Search == OnePixelSearch.Evolution ? "One-pixel attack" : "Random one-pixel search", Options.Iterations);
            for (int generation = 1; generation <= Options.Iterations; generation++)
            {
                using var generationScope = NewDisposeScope();   // frees each generation's candidates and their images
                var active = reached.any(1).logical_not().nonzero().flatten();
                if (active.shape[0] == 0)
                    break;
                var activeImages = active.cpu().data<long>().ToArray();
                foreach (var i in activeImages)
                    generations[i] = generation;
                var activeGenerators = activeImages.Select(i => generators[i]).ToArray();
                var parents = population[active];
                var trial = Options.Search == OnePixelSearch.Evolution
                    ? Repair(Mutate(parents, activeGenerators), height, width)
                    : RandomCandidates(activeGenerators, images.shape[1], height, width, images.device);
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
            return (best, generations.Select(g => size * (g + 1)).ToArray());   // best in the caller's scope, like everything made here
        }
        finally
        {
            foreach (var generator in generators)
                generator.Dispose();
        }
    }

    /// <summary>
    /// Population candidates per image drawn uniformly at random (A x P x k x (2 + C)), each image from its own generator:
    /// k distinct positions, each with a colour in [0,1]. The random start of both searches, and every generation of random search.
    /// </summary>
    Tensor RandomCandidates(Generator[] generators, long channels, long height, long width, Device device)
    {
        int k = Options.Pixels, size = Options.Population;
        return Repair(stack(generators.Select(g =>
        {
            var start = rand(new long[] { size, height * width }, generator: g, device: device).argsort(1)[.., ..k];
            var x = (start % width).to_type(ScalarType.Float32) + rand(new long[] { size, k }, generator: g, device: device) - 0.5f;
            var y = start.div(width, rounding_mode: RoundingMode.floor).to_type(ScalarType.Float32) + rand(new long[] { size, k }, generator: g, device: device) - 0.5f;
            var colour = rand(new long[] { size, k, channels }, generator: g, device: device);
            return cat([x.unsqueeze(2), y.unsqueeze(2), colour], 2);
        }).ToArray()), height, width);
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
    /// for every candidate of every image (A x P each), the candidate images built and sent through the network in
    /// passes of <see cref="PixelsPerPass"/> pixel values. Candidates that put two of their pixels on one position are
    /// never accepted.
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
            using var pass = NewDisposeScope();   // frees each pass's candidate images and activations before the next
            int end = Math.Min(start + perPass, total);
            var rows = owner[start..end];
            var probabilities = nn.functional.softmax(model.Module.forward(Apply(images[rows], candidates[start..end])), 1);
            var goalHere = goal.Select(rows);
            var probability = probabilities.gather(1, goalHere.Classes.unsqueeze(1)).squeeze(1);   // of the target, or of the true class
            losses.Add((goalHere.Targeted ? 1 - probability : probability).MoveToOuterDisposeScope());
            reached.Add(goalHere.ReachedBy(probabilities.argmax(1)).MoveToOuterDisposeScope());
        }
        var loss = cat(losses, 0).reshape(count, size);
        var position = (population[.., .., .., 1].round() * images.shape[3] + population[.., .., .., 0].round()).sort(2).Values;
        var collides = position.diff(dim: 2).eq(0).any(2);   // A x P
        return (where(collides, full_like(loss, float.PositiveInfinity), loss), cat(reached, 0).reshape(count, size).logical_and(collides.logical_not()));
    }
}
