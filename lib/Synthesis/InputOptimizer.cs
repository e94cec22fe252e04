using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Synthesis;

/// <summary>How the loop runs: how many steps, the step rule, the transforms before each forward pass, the regularisers after each step.</summary>
/// <param name="Steps">Most gradient steps to take (0 returns the start).</param>
/// <param name="Seed">Seeds the generator that draws every random transform, so a run can be repeated exactly.</param>
public sealed record OptimizationOptions(int Steps = 100, int Seed = 0)
{
    /// <summary>Turns the gradient into the change of the parameters (default: plain gradient ascent with rate 1).</summary>
    public IStepRule StepRule { get; init; } = new GradientAscent(1);

    /// <summary>Applied in order to the images before each forward pass (default: none).</summary>
    public IReadOnlyList<ITransform> Transforms { get; init; } = [];

    /// <summary>Applied in order to the parameters after each step (default: clamp to [0,1], the valid pixel range).</summary>
    public IReadOnlyList<IRegularizer> Regularizers { get; init; } = [new Clamp()];

    /// <summary>
    /// Ends the run early: asked on every forward pass, before the step it would give, whether the images are good
    /// enough (fooling images stop once every class is at 99 %). True ends the run without that step. Null: run all steps.
    /// </summary>
    public Func<OptimizationStep, bool>? StopWhen { get; init; }

    /// <summary>The label of the progress bar.</summary>
    public string Label { get; init; } = "Optimising the image";

    public void Validate()
    {
        if (Steps < 0)
            throw new ArgumentOutOfRangeException(nameof(Steps), $"The number of steps must be 0 or more; got {Steps}.");
    }
}

/// <summary>
/// One forward pass of the loop, as the stop condition and the step callback see it. The tensors are detached, on
/// the model's device, and valid only during the call (copy what you keep).
/// </summary>
/// <param name="Step">The step this forward pass gives, counted from 0: the parameters have had <paramref name="Step"/> steps.</param>
/// <param name="Objective">The objective, mean over the images.</param>
/// <param name="Values">The objective for each image of the forward pass (after the transforms).</param>
/// <param name="Scores">The model's output for the transformed images.</param>
public sealed record OptimizationStep(int Step, double Objective, Tensor Values, Tensor Scores);

/// <summary>The optimised images and how the objective developed.</summary>
/// <param name="Images">N x C x H x W on the CPU, as the parameterisation renders them after the last step.</param>
/// <param name="Objective">The objective at each step taken (mean over the images), measured on the forward pass that gave that step's gradient.</param>
public sealed record SynthesisResult(Tensor Images, IReadOnlyList<double> Objective) : IDisposable
{
    /// <summary>
    /// The objective of each image of the forward pass at each step taken (the mean over them is <see cref="Objective"/>):
    /// where several images are optimised together, whether each one's rose (<see cref="ObjectiveRise"/>). Empty when not recorded.
    /// </summary>
    public IReadOnlyList<double[]> ObjectivePerImage { get; init; } = [];

    public void Dispose() => Images.Dispose();
}

/// <summary>
/// The one loop behind every technique that makes an input for a network (class models, DeepDream, fooling
/// images, adversarial patches): render the images, transform them, run the model, evaluate the objective, take its
/// gradient with respect to the parameters (<see cref="InputGradient"/>), step, regularise, repeat, until the steps
/// run out or the stop condition holds. The model is never changed: it runs in evaluation mode and its weights
/// receive no gradients.
/// </summary>
public static class InputOptimizer
{
    /// <summary>
    /// Optimises <paramref name="image"/> in place for <paramref name="objective"/> and returns a copy of the result.
    /// Random transforms draw from <paramref name="random"/>, or from a generator seeded with the options' seed.
    /// Each step's forward pass goes to <paramref name="onStep"/> after the step if given, else to a progress bar.
    /// </summary>
    public static SynthesisResult Run(VisionModel model, IImageParameterization image, Objective objective, OptimizationOptions options,
        Generator? random = null, Action<OptimizationStep>? onStep = null)
    {
        options.Validate();
        objective.Check(model);
        using var scope = NewDisposeScope();
        using var seeded = random is null ? new Generator((ulong)options.Seed) : null;
        random ??= seeded!;
        var history = new List<double>(options.Steps);
        var perImage = new List<double[]>(options.Steps);
        using var progress = onStep is null ? ProgressDisplay.Start(options.Label, options.Steps) : null;
        using var capture = new LayerCapture(model, objective.Layers, detach: false);
        using var stepRun = options.StepRule.Begin(image.Parameters);
        for (int step = 0; step < options.Steps; step++)
        {
            using var stepScope = NewDisposeScope();
            var (values, scores, gradient) = Gradient(model, objective, image, options.Transforms, random, capture);
            double value = values.mean().to_type(ScalarType.Float64).item<double>();
            if (!double.IsFinite(value))
                throw new InvalidOperationException($"The objective ({objective}) became {value} at step {step}: lower the learning rate or step size.");
            var state = new OptimizationStep(step, value, values, scores);
            if (options.StopWhen?.Invoke(state) == true)
                break;
            history.Add(value);
            perImage.Add(values.detach().to_type(ScalarType.Float64).cpu().data<double>().ToArray());
            using (no_grad())
            {
                stepRun.Step(gradient);
                foreach (var regularizer in options.Regularizers)
                    regularizer.Apply(image.Parameters, step);
            }
            if (onStep is null)
                progress!.Report(step + 1, $"objective {value:G4}");
            else
                onStep(state);
        }
        using var noGrad = no_grad();
        return new SynthesisResult(image.Render(image.Parameters).detach().cpu().clone().MoveToOuterDisposeScope(), history) { ObjectivePerImage = perImage };
    }

    /// <summary>The objective's value for each image of <paramref name="pixels"/> (N x C x H x W, no transforms), without gradients, on the CPU.</summary>
    public static Tensor Evaluate(VisionModel model, Objective objective, Tensor pixels)
    {
        objective.Check(model);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var capture = new LayerCapture(model, objective.Layers, detach: true);
        var input = pixels.to(model.Device);
        var scores = model.Forward(input);
        return objective.Evaluate(new ObjectiveContext(input, scores, capture)).cpu().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The objective's value for each image of <paramref name="pixels"/> (N x C x H x W, no transforms) and its gradient
    /// with respect to the pixels: what one step of the loop sees. Both on the model's device.
    /// </summary>
    public static (Tensor Values, Tensor Gradient) ValueAndGradient(VisionModel model, Objective objective, Tensor pixels)
    {
        objective.Check(model);
        using var scope = NewDisposeScope();
        using var image = new PixelImage(pixels, model.Device);
        using var capture = new LayerCapture(model, objective.Layers, detach: false);
        using var random = new Generator(0);
        var (values, _, gradient) = Gradient(model, objective, image, [], random, capture);
        return (values.MoveToOuterDisposeScope(), gradient.MoveToOuterDisposeScope());
    }

    /// <summary>One forward and backward pass: the objective per image, the model's scores and the gradient with respect to the parameters.</summary>
    static (Tensor Values, Tensor Scores, Tensor Gradient) Gradient(VisionModel model, Objective objective, IImageParameterization image,
        IReadOnlyList<ITransform> transforms, Generator random, LayerCapture capture)
    {
        using var scope = NewDisposeScope();
        Tensor scores = null!;
        var result = InputGradient.Take(model, image.Parameters, parameters =>
        {
            var rendered = image.Render(parameters);
            var input = rendered;
            foreach (var transform in transforms)
                input = transform.Apply(input, random);
            Tensor output;
            using (PixelRange.AllowOutOfRange())   // the image being made may leave [0,1] between steps
                output = model.Forward(input);
            scores = output.detach().DetachFromDisposeScope();   // kept beyond the gradient computation, in this scope
            scope.Attach(scores);
            var values = objective.Evaluate(new ObjectiveContext(rendered, output, capture));
            if (values.dim() != 1 || values.shape[0] != input.shape[0])
                throw new InvalidOperationException($"The objective ({objective}) must give one value per image ({input.shape[0]}); it gave [{string.Join(", ", values.shape)}].");
            return values;
        });
        return scope.MoveToOuter(result.Values, scores, result.Gradient);
    }
}
