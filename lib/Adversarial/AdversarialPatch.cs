using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using WhatNetworksLearn.Synthesis;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Adversarial;

/// <summary>
/// Settings of the adversarial patch. Brown et al. (2017) covered about a tenth of an ImageNet photo and trained with
/// random positions, scales and turns; the defaults do the same on the 28 x 28 Fashion-MNIST network: a 9 x 9 patch
/// (81 of 784 pixels, 10 %) at scale 0.8 to 1.2 (7 % to 15 % of the image), turned by up to 30° either way.
/// </summary>
/// <param name="PatchSize">Side of the square patch in pixels, at scale 1.</param>
/// <param name="Steps">Gradient steps, each on a fresh random batch of training images and placements.</param>
/// <param name="BatchSize">Training images per step (drawn with replacement), each with its own placement; also the chunk size of <see cref="AdversarialPatch.Evaluate(Tensor, Tensor, Tensor, int, int)"/>.</param>
/// <param name="StepSize">
/// The first step's mean change per pixel (the gradient normalised, <see cref="NormalizedGradient"/>). Later steps are
/// smaller: the size falls along a cosine to nearly 0 at the last step (<see cref="CosineDecay"/>), so the patch stops
/// following the noise of each step's random batch and settles. The clamp to [0,1] keeps pixels from running away.
/// </param>
/// <param name="MinScale">Smallest factor applied to the patch's side.</param>
/// <param name="MaxScale">Largest factor applied to the patch's side.</param>
/// <param name="MaxDegrees">The patch is turned by a random angle of up to this many degrees either way.</param>
/// <param name="Seed">Seeds the start patch, the batches and the placements, so a run can be repeated exactly.</param>
public sealed record PatchOptions(int PatchSize = 9, int Steps = 200, int BatchSize = 32, double StepSize = 0.3, double MinScale = 0.8,
    double MaxScale = 1.2, double MaxDegrees = 30, int Seed = 0)
{
    /// <summary>The step rule of training: normalised gradient steps of <see cref="StepSize"/>, decayed along a cosine over <see cref="Steps"/>.</summary>
    public IStepRule StepRule => new CosineDecay(new NormalizedGradient(StepSize), Math.Max(Steps, 1));

    /// <summary>Checks the settings against images of <paramref name="height"/> x <paramref name="width"/>.</summary>
    public void Validate(long height, long width)
    {
        if (PatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(PatchSize), $"The patch must be at least 1 pixel wide; got {PatchSize}.");
        if (Steps < 0)
            throw new ArgumentOutOfRangeException(nameof(Steps), $"The number of steps must be 0 or more; got {Steps}.");
        if (BatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(BatchSize), $"The batch size must be at least 1; got {BatchSize}.");
        if (!(StepSize > 0) || !double.IsFinite(StepSize))
            throw new ArgumentOutOfRangeException(nameof(StepSize), $"The step size must be a positive number of pixel units (e.g. 0.3); got {StepSize}.");
        if (!(MinScale > 0 && MaxScale >= MinScale && double.IsFinite(MaxScale)))
            throw new ArgumentOutOfRangeException(nameof(MinScale), $"Scales must be positive with MinScale <= MaxScale; got {MinScale} to {MaxScale}.");
        if (!(MaxDegrees is >= 0 and <= 180))
            throw new ArgumentOutOfRangeException(nameof(MaxDegrees), $"The largest turn must lie in [0, 180] degrees; got {MaxDegrees}.");
        double needed = 2 * LargestHalfExtent;
        if (needed > Math.Min(height, width))
            throw new ArgumentException($"A {PatchSize} x {PatchSize} patch at scale up to {MaxScale} turned up to {MaxDegrees}° needs {needed:0.#} x {needed:0.#} pixels, " +
                $"but the images are {height} x {width}: use a smaller PatchSize, MaxScale or MaxDegrees.");
    }

    /// <summary>The largest distance from its centre (in x or in y) the placed patch can reach: largest scale, worst angle.</summary>
    double LargestHalfExtent
    {
        get
        {
            double worstDegrees = Math.Min(MaxDegrees, 45);   // |cos| + |sin| grows up to 45° and repeats
            return new PatchPlacement(0, 0, MaxScale, worstDegrees).HalfExtent(PatchSize);
        }
    }
}

/// <summary>
/// Images the patch never trains on, with their labels, on which <see cref="AdversarialPatch.Train"/> measures the
/// success rate as training goes: before the first step and after every <paramref name="Every"/> steps (and the last),
/// each time with the same placements, drawn once with <paramref name="Seed"/> as <see cref="AdversarialPatch.Evaluate(Tensor, Tensor, Tensor, int, int)"/>
/// draws them. With images and placements fixed, the curve moves only when the patch does.
/// </summary>
public sealed record PatchHeldOut(Tensor Images, Tensor Labels, int Every = 5, int Seed = 1);

/// <summary>The patch's success rate on the held-out images (<see cref="PatchEvaluation.SuccessRate"/>) after <paramref name="Step"/> steps.</summary>
public sealed record PatchProgress(int Step, double SuccessRate);

/// <summary>A trained patch and how training went.</summary>
/// <param name="Patch">C x P x P in [0,1], on the CPU.</param>
/// <param name="TargetProbability">
/// Mean probability of the target on each step's batch (with the patch pasted), before that step. Each batch is new
/// images at new placements, so this wanders with the batch even when the patch does not change.
/// </param>
/// <param name="HeldOutSuccess">The success rate on the held-out images as training went (empty when none were given).</param>
public sealed record PatchTraining(Tensor Patch, IReadOnlyList<double> TargetProbability, IReadOnlyList<PatchProgress> HeldOutSuccess) : IDisposable
{
    public void Dispose() => Patch.Dispose();
}

/// <summary>
/// How a patch did on a set of images, each with its own random placement. All tensors on the CPU.
/// <see cref="SuccessRate"/> counts only images whose true class is not the target (those would "succeed" for free).
/// </summary>
public sealed record PatchEvaluation(Tensor Patched, IReadOnlyList<PatchPlacement> Placements, Tensor CleanPrediction,
    Tensor PatchedPrediction, Tensor TargetProbability, Tensor Counted, Tensor Success) : IDisposable
{
    /// <summary>Among the images not of the target class, the fraction the model calls the target once the patch is pasted.</summary>
    public double SuccessRate => Rate(Success, Counted);

    /// <summary>The fraction of the <paramref name="counted"/> images that are a <paramref name="success"/> (NaN when none is counted).</summary>
    internal static double Rate(Tensor success, Tensor counted)
    {
        using var total = counted.sum();
        using var hits = success.logical_and(counted).sum();
        long n = total.item<long>();
        return n == 0 ? double.NaN : (double)hits.item<long>() / n;
    }

    public void Dispose()
    {
        Patched.Dispose();
        CleanPrediction.Dispose();
        PatchedPrediction.Dispose();
        TargetProbability.Dispose();
        Counted.Dispose();
        Success.Dispose();
    }
}

/// <summary>
/// The adversarial patch (Brown, Mané, Roy, Abadi and Gilmer, 2017): one small image that makes a classifier answer a
/// chosen class wherever it is stuck. Unlike PGD it is not made for one image: it is trained over many images, each
/// step pasting it into a batch of training images at random positions, scales and angles ("expectation over
/// transformation") and moving its pixels up the gradient of the mean log-probability of the target (down the
/// cross-entropy). Only the patch changes; the images and the network do not.
/// </summary>
public sealed class AdversarialPatch(VisionModel model, PatchOptions? options = null)
{
    public PatchOptions Options { get; } = options ?? new PatchOptions();

    /// <summary>
    /// Trains a patch towards <paramref name="targetClass"/> on <paramref name="images"/> (N x C x H x W in [0,1]) with
    /// the shared <see cref="InputOptimizer"/> loop: the patch's pixels are the parameters (a <see cref="PixelImage"/> of
    /// 1 x C x P x P), <see cref="PasteIntoImages"/> is the transform, and the objective is the mean log-probability of
    /// the target over each step's batch. With <paramref name="heldOut"/>, the success rate on those images is measured
    /// as training goes (<see cref="PatchTraining.HeldOutSuccess"/>). Progress goes to <paramref name="onStep"/> (step,
    /// mean target probability on the step's batch) if given, else to a progress bar.
    /// </summary>
    public PatchTraining Train(Tensor images, int targetClass, PatchHeldOut? heldOut = null, Action<int, double>? onStep = null)
    {
        CheckRequest(images, targetClass);
        if (heldOut is not null && heldOut.Every < 1)
            throw new ArgumentOutOfRangeException(nameof(heldOut), $"Measure the held-out images every 1 or more steps; got every {heldOut.Every}.");
        using var scope = NewDisposeScope();
        using var random = new Generator((ulong)Options.Seed);
        var training = images.detach().to(model.Device);
        using var patch = new PixelImage(NoisePatch(random).unsqueeze(0), model.Device);
        if (heldOut is not null)
            AttackSteps.Check(model, heldOut.Images, heldOut.Labels, targetClass);
        var heldOutPlacements = heldOut is null ? null : RandomPlacements((int)heldOut.Images.shape[0], heldOut.Seed);
        var heldOutCounted = heldOut?.Labels.cpu().to_type(ScalarType.Int64).ne(targetClass);
        var heldOutSuccess = new List<PatchProgress>();
        void Measure(int step)
        {
            // What Evaluate counts, without the clean images' answers, which do not change.
            using var measureScope = NewDisposeScope();
            var answers = Classify(heldOut!.Images, (batch, start) => PatchPasting.Paste(batch, patch.Parameters[0], Slice(heldOutPlacements!, start, batch))).argmax(1);
            heldOutSuccess.Add(new(step, PatchEvaluation.Rate(answers.eq(targetClass), heldOutCounted!)));
        }
        if (heldOut is not null)
            Measure(0);
        var loop = new OptimizationOptions(Options.Steps, Options.Seed)
        {
            StepRule = Options.StepRule,
            Transforms = [new PasteIntoImages(training, Options)],
        };
        // The loop differentiates the sum over the batch; scaled by 1 / batch size, that is the mean log-probability.
        var objective = (1.0 / Options.BatchSize) * Objective.ClassLogProbability(targetClass);
        var history = new List<double>(Options.Steps);
        using var progress = onStep is null ? ProgressDisplay.Start("Training the patch", Options.Steps) : null;
        using var result = InputOptimizer.Run(model, patch, objective, loop, random, step =>
        {
            using var probabilities = nn.functional.log_softmax(step.Scores, 1)[.., targetClass].exp().mean();
            double probability = probabilities.item<float>();
            history.Add(probability);
            int taken = step.Step + 1;
            if (heldOut is not null && (taken % heldOut.Every == 0 || taken == Options.Steps))
                Measure(taken);
            if (onStep is null)
                progress!.Report(taken, $"p({Name(targetClass)}) on the batch {probability:P0}" +
                    (heldOut is null ? "" : $", held-out success {heldOutSuccess[^1].SuccessRate:P0}"));
            else
                onStep(step.Step, probability);
        });
        return new PatchTraining(result.Images[0].clone().MoveToOuterDisposeScope(), history, heldOutSuccess);
    }

    /// <summary>
    /// Pastes <paramref name="patch"/> into every image at a placement drawn with <paramref name="seed"/> from the
    /// options' ranges (the same placements as <see cref="Evaluate(Tensor, Tensor, Tensor, int, int)"/> and <see cref="RandomPlacements"/> with that seed).
    /// </summary>
    public Tensor Paste(Tensor images, Tensor patch, int seed)
    {
        model.CheckInput(images);
        CheckPatch(patch);
        return PatchPasting.Paste(images, patch, RandomPlacements((int)images.shape[0], seed));
    }

    /// <summary>Random placements for <paramref name="count"/> images of the model's size: uniform scale, angle and position, the patch always inside.</summary>
    public IReadOnlyList<PatchPlacement> RandomPlacements(int count, int seed)
    {
        Options.Validate(model.Input.Height, model.Input.Width);
        using var scope = NewDisposeScope();
        using var random = new Generator((ulong)seed);
        return Draw(count, random).ToList();
    }

    /// <summary>A patch of uniform random pixels with the model's channels and the options' size: the baseline a trained patch must beat.</summary>
    public Tensor NoisePatch(int seed)
    {
        using var random = new Generator((ulong)seed);
        return NoisePatch(random);
    }

    /// <summary>
    /// Pastes <paramref name="patch"/> into each image at its own random placement (drawn with <paramref name="seed"/>)
    /// and asks the model, in batches of <see cref="PatchOptions.BatchSize"/>. Images of the target class are kept in the
    /// result but not counted in the success rate.
    /// </summary>
    public PatchEvaluation Evaluate(Tensor patch, Tensor images, Tensor labels, int targetClass, int seed = 1)
    {
        AttackSteps.Check(model, images, labels, targetClass);
        return Evaluate(patch, images, labels, targetClass, RandomPlacements((int)images.shape[0], seed));
    }

    /// <summary>As above, with the patch pasted into image i at <paramref name="placements"/>[i].</summary>
    public PatchEvaluation Evaluate(Tensor patch, Tensor images, Tensor labels, int targetClass, IReadOnlyList<PatchPlacement> placements)
    {
        AttackSteps.Check(model, images, labels, targetClass);
        CheckPatch(patch);
        if (placements.Count != images.shape[0])
            throw new ArgumentException($"Expected one placement per image ({images.shape[0]}); got {placements.Count}.", nameof(placements));
        using var scope = NewDisposeScope();
        var onDevice = patch.to(model.Device);
        var patched = new List<Tensor>();
        var probabilities = Classify(images, (batch, start) =>
        {
            var pasted = PatchPasting.Paste(batch, onDevice, Slice(placements, start, batch));
            patched.Add(pasted.cpu().MoveToOuterDisposeScope());   // out of Classify's scope, into this one
            return pasted;
        });
        var clean = Classify(images, (batch, _) => batch).argmax(1);
        var after = probabilities.argmax(1);
        var counted = labels.cpu().to_type(ScalarType.Int64).ne(targetClass);
        return new PatchEvaluation(cat(patched, 0).MoveToOuterDisposeScope(), placements, clean.MoveToOuterDisposeScope(),
            after.MoveToOuterDisposeScope(), probabilities[.., targetClass].contiguous().MoveToOuterDisposeScope(), counted.MoveToOuterDisposeScope(),
            after.eq(targetClass).MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The model's class probabilities (N x classes, on the CPU) for <paramref name="images"/> turned into its input
    /// by <paramref name="input"/> (a chunk on the model's device and the index of its first image), without gradients,
    /// in chunks of <see cref="PatchOptions.BatchSize"/> so that large photos fit into memory.
    /// </summary>
    Tensor Classify(Tensor images, Func<Tensor, int, Tensor> input)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var chunks = new List<Tensor>();
        for (int start = 0; start < images.shape[0]; start += Options.BatchSize)
        {
            int end = (int)Math.Min(start + Options.BatchSize, images.shape[0]);
            chunks.Add(nn.functional.softmax(model.Module.forward(input(images[start..end].to(model.Device), start)), 1).cpu());
        }
        return cat(chunks, 0).MoveToOuterDisposeScope();
    }

    static IReadOnlyList<PatchPlacement> Slice(IReadOnlyList<PatchPlacement> placements, int start, Tensor batch) =>
        placements.Skip(start).Take((int)batch.shape[0]).ToList();

    Tensor NoisePatch(Generator random) =>
        rand(new long[] { model.Input.Channels, Options.PatchSize, Options.PatchSize }, generator: random);

    PatchPasting.Placements Draw(int count, Generator random) => PatchPasting.Draw(count, model.Input.Height, model.Input.Width, Options, random, model.Device);

    string Name(int classIndex) => model.ClassNames[classIndex];

    void CheckRequest(Tensor images, int targetClass)
    {
        model.CheckInput(images);
        model.CheckClass(targetClass);
        Options.Validate(model.Input.Height, model.Input.Width);
    }

    void CheckPatch(Tensor patch)
    {
        var expected = new long[] { model.Input.Channels, Options.PatchSize, Options.PatchSize };
        if (!patch.shape.SequenceEqual(expected))
            throw new ArgumentException($"Expected a patch of [{string.Join(", ", expected)}] (the model's channels and the options' PatchSize); got [{string.Join(", ", patch.shape)}].", nameof(patch));
        PixelRange.Check(patch, "The patch", nameof(patch));
    }
}

/// <summary>
/// The adversarial patch's transform (expectation over transformation): every time the loop runs the model, the
/// rendered patch (1 x C x P x P) is pasted into a fresh random batch of <see cref="PatchOptions.BatchSize"/> of the
/// training images (drawn with replacement), each at its own random placement from the options' ranges.
/// Differentiable with respect to the patch.
/// </summary>
public sealed class PasteIntoImages : ITransform
{
    readonly Tensor images;
    readonly PatchOptions options;

    /// <param name="images">The images to paste into, N x C x H x W (kept by reference, not copied).</param>
    /// <param name="options">The batch size and the ranges of scale, angle and the patch's size.</param>
    public PasteIntoImages(Tensor images, PatchOptions options)
    {
        if (images.dim() != 4 || images.shape[0] == 0)
            throw new ArgumentException($"Expected a non-empty batch of images N x C x H x W to paste into; got [{string.Join(", ", images.shape)}].", nameof(images));
        options.Validate(images.shape[2], images.shape[3]);
        this.images = images;
        this.options = options;
    }

    public Tensor Apply(Tensor patch, Generator random)
    {
        using var scope = NewDisposeScope();
        var batch = images[randint(0, images.shape[0], [options.BatchSize], generator: random).to(images.device)];
        var placements = PatchPasting.Draw(options.BatchSize, images.shape[2], images.shape[3], options, random, images.device);
        var (pasted, _) = PatchPasting.PasteWithMask(batch, patch, placements);
        return pasted.MoveToOuterDisposeScope();
    }
}
