using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using WhatNetworksLearn.Synthesis;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Adversarial;

/// <summary>
/// Settings of fooling images made by gradient ascent: start from uniform noise and raise one class score per image,
/// keeping pixels in [0,1], until the network gives every class the goal confidence or the steps run out.
/// </summary>
/// <param name="Steps">Most gradient steps (0 returns the starting noise).</param>
/// <param name="StepSize">Mean change of a pixel per step (normalised gradient), so one value suits small and large networks.</param>
/// <param name="Goal">The softmax probability of its class at which an image counts as fooling (the paper: 99 %).</param>
/// <param name="Seed">Seed of the starting noise.</param>
public sealed record GradientFoolingOptions(int Steps = 100, double StepSize = 0.03, double Goal = 0.99, int Seed = 0)
{
    public void Validate()
    {
        if (Steps < 0)
            throw new ArgumentOutOfRangeException(nameof(Steps), $"The number of steps must be 0 or more; got {Steps}.");
        if (!(StepSize > 0) || double.IsInfinity(StepSize))
            throw new ArgumentOutOfRangeException(nameof(StepSize), $"The step size must be a positive pixel change (e.g. 0.03); got {StepSize}.");
        FoolingImages.CheckGoal(Goal);
    }
}

/// <summary>
/// Fooling images, one per requested class, and how the search got there.
/// </summary>
/// <param name="Images">K x C x H x W on the CPU, pixels in [0,1]: image i is meant to be classified as <c>Classes[i]</c>.</param>
/// <param name="Confidence">K: the model's softmax probability of <c>Classes[i]</c> for image i, computed on the returned images.</param>
/// <param name="Classes">The class each image was made for.</param>
/// <param name="History">For the start and after every step or generation: the confidence of each class (K values), so History[0] is the start.</param>
/// <param name="ReachedAt">For each class, the first step or generation whose image reached the goal (0: the start already did); null if none did.</param>
/// <param name="Goal">The confidence an image needed to count as fooling.</param>
/// <param name="ForwardPasses">How many images the search sent through the network, a measure of its cost.</param>
public sealed record FoolingResult(Tensor Images, Tensor Confidence, IReadOnlyList<int> Classes, IReadOnlyList<double[]> History,
    IReadOnlyList<int?> ReachedAt, double Goal, long ForwardPasses) : IDisposable
{
    /// <summary>The steps or generations taken (the search stops early once every class reached the goal).</summary>
    public int Steps => History.Count - 1;

    /// <summary>How many classes have a fooling image at the goal confidence.</summary>
    public int ClassesReached => ReachedAt.Count(r => r is not null);

    /// <summary>The step or generation at which the last class reached the goal; null unless every class did.</summary>
    public int? AllReachedAt => ReachedAt.All(r => r is not null) ? ReachedAt.Max() : null;

    /// <summary>The lowest confidence over all classes at each step or generation: the class that is hardest to fool.</summary>
    public IReadOnlyList<double> WorstConfidence => History.Select(h => h.Min()).ToList();

    public void Dispose()
    {
        Images.Dispose();
        Confidence.Dispose();
    }
}

/// <summary>
/// Images that a person sees as noise or as a plain pattern but that a network classifies with at least 99 %
/// confidence (Nguyen, Yosinski and Clune, 2015, "Deep neural networks are easily fooled"). Two ways to make them:
/// gradient ascent on the class score from random noise (<see cref="ByGradientAscent"/>), and an evolutionary
/// search that only reads the network's probabilities (<see cref="ByEvolution"/>).
/// </summary>
public static partial class FoolingImages
{
    /// <summary>
    /// K x <paramref name="classCount"/>: Pearson's correlation of each of the K <paramref name="fooling"/> images
    /// (K x C x H x W) with the mean image of each class over labelled <paramref name="images"/> (N x C x H x W, class
    /// indices <paramref name="labels"/>). Says whether a fooling image looks, pixel by pixel, more like the average garment
    /// of its own class than like the others: a measure of "brighter where the class's garments usually are". NaN for a
    /// constant image or a class without images.
    /// </summary>
    public static Tensor CorrelationWithClassMeans(Tensor fooling, Tensor images, Tensor labels, int classCount)
    {
        if (fooling.dim() != 4 || images.dim() != 4 || !fooling.shape.Skip(1).SequenceEqual(images.shape.Skip(1)) || labels.shape[0] != images.shape[0])
            throw new ArgumentException($"Expected fooling images K x C x H x W and labelled images N x C x H x W of the same size with N labels; got " +
                $"[{string.Join(", ", fooling.shape)}], [{string.Join(", ", images.shape)}] and {labels.shape[0]} labels.", nameof(images));
        using var scope = NewDisposeScope();
        var flat = images.detach().cpu().flatten(1).to_type(ScalarType.Float64);
        var onehot = nn.functional.one_hot(labels.detach().cpu().to_type(ScalarType.Int64), classCount).to_type(ScalarType.Float64);   // N x classes
        var means = onehot.t().matmul(flat) / onehot.sum(dim: 0).unsqueeze(1);                                                              // classes x D
        Tensor Standardised(Tensor rows)
        {
            var centred = rows - rows.mean([1], keepdim: true);
            return centred / centred.norm(1, keepdim: true);
        }
        var correlation = Standardised(fooling.detach().cpu().flatten(1).to_type(ScalarType.Float64)).matmul(Standardised(means).t());
        return correlation.to_type(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// One fooling image per class by gradient ascent: start from uniform noise and raise the unnormalised score of the
    /// image's class with normalised gradient steps (the shared <see cref="InputOptimizer"/> loop), stopping as soon as
    /// every image reaches the goal. A high score pushes the softmax of that class towards 1.
    /// </summary>
    public static FoolingResult ByGradientAscent(VisionModel model, IReadOnlyList<int> classes, GradientFoolingOptions? options = null)
    {
        options ??= new GradientFoolingOptions();
        options.Validate();
        CheckClasses(model, classes);
        using var scope = NewDisposeScope();
        using var mode = model.EvaluationMode();
        var input = model.Input;
        using var random = new Generator((ulong)options.Seed);
        using var start = rand(new long[] { classes.Count, input.Channels, input.Height, input.Width }, generator: random);
        using var image = new PixelImage(start, model.Device);
        // The loop's forward pass at step s sees the images after s steps: their confidences are the history and decide the stop.
        var history = new List<double[]>();
        var reachedAt = new int?[classes.Count];
        bool stopped = false;
        using var progress = ProgressDisplay.Start("Fooling images by gradient ascent", options.Steps);
        void Note(double[] confidences)
        {
            history.Add(confidences);
            Record(reachedAt, confidences, options.Goal, history.Count - 1);
            progress.Report(history.Count - 1, Status(confidences, options.Goal));
        }
        var loop = new OptimizationOptions(options.Steps, options.Seed)
        {
            StepRule = new NormalizedGradient(options.StepSize),
            StopWhen = step =>
            {
                Note(Confidences(step.Scores, classes));
                return stopped = reachedAt.All(r => r is not null);
            },
        };
        // The progress bar above reports each step, so the loop is given a step callback and draws none of its own.
        using (InputOptimizer.Run(model, image, Objective.ClassScore([.. classes]), loop, random, onStep: _ => { })) { }
        if (!stopped)   // the steps ran out: the last images have not been measured yet
            Note(Confidences(model, image.Parameters, classes));
        // Each step sends the batch through the network once (forward and backward); measuring the last images is bookkeeping.
        long forwardPasses = (long)(history.Count - 1) * classes.Count;
        return Result(model, image.Parameters, classes, history, reachedAt, options.Goal, forwardPasses);
    }

    /// <summary>Checks that the classes are a non-empty list of distinct classes of the model.</summary>
    internal static void CheckClasses(VisionModel model, IReadOnlyList<int> classes)
    {
        if (classes.Count == 0)
            throw new ArgumentException("Name at least one class to make a fooling image for.", nameof(classes));
        foreach (var cls in classes)
            model.CheckClass(cls);
        if (classes.Distinct().Count() != classes.Count)
            throw new ArgumentException($"Each class may appear only once; got {string.Join(", ", classes)}.", nameof(classes));
    }

    internal static void CheckGoal(double goal)
    {
        if (!(goal > 0 && goal < 1))
            throw new ArgumentOutOfRangeException(nameof(goal), $"The goal is a probability strictly between 0 and 1 (the paper: 0.99); got {goal}.");
    }

    /// <summary>The softmax probability of classes[i] for image i (images K x C x H x W), without gradients.</summary>
    static double[] Confidences(VisionModel model, Tensor images, IReadOnlyList<int> classes)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return Confidences(model.Module.forward(images.to(model.Device)), classes);
    }

    /// <summary>The softmax probability of classes[i] for image i, from the model's scores (K x classes of the model).</summary>
    static double[] Confidences(Tensor scores, IReadOnlyList<int> classes)
    {
        using var scope = NewDisposeScope();
        return PickClasses(nn.functional.softmax(scores, 1), classes).diagonal().to_type(ScalarType.Float64).cpu().data<double>().ToArray();
    }

    /// <summary>The columns of <paramref name="probabilities"/> (N x classes of the model) for the requested classes: N x K.</summary>
    internal static Tensor PickClasses(Tensor probabilities, IReadOnlyList<int> classes)
    {
        using var index = tensor(classes.Select(c => (long)c).ToArray(), device: probabilities.device);
        return probabilities.index_select(1, index);
    }

    /// <summary>Notes the first step at which each class reached the goal.</summary>
    internal static void Record(int?[] reachedAt, double[] confidences, double goal, int step)
    {
        for (int i = 0; i < reachedAt.Length; i++)
            if (reachedAt[i] is null && confidences[i] >= goal)
                reachedAt[i] = step;
    }

    internal static string Status(double[] confidences, double goal) =>
        $"{confidences.Count(c => c >= goal)}/{confidences.Length} classes at {goal:P0}, worst {confidences.Min():P1}";

    /// <summary>Packs the images with the model's own confidences on them, on the CPU, out of the caller's dispose scope.</summary>
    internal static FoolingResult Result(VisionModel model, Tensor images, IReadOnlyList<int> classes, List<double[]> history,
        int?[] reachedAt, double goal, long forwardPasses)
    {
        using var noGrad = no_grad();
        var final = images.to(model.Device);
        var confidence = PickClasses(nn.functional.softmax(model.Module.forward(final), 1), classes).diagonal();
        return new FoolingResult(final.cpu().clone().MoveToOuterDisposeScope(), confidence.cpu().clone().MoveToOuterDisposeScope(),
            [.. classes], history, reachedAt, goal, forwardPasses);
    }
}
