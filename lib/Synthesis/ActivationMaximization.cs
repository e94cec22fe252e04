using WhatNetworksLearn.Attribution;
using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Synthesis;

/// <summary>
/// Settings of activation maximisation: gradient ascent on the image, with the regularisers that make the result
/// readable. Set <paramref name="L2Weight"/>, <paramref name="Jitter"/> or <paramref name="BlurEvery"/> to 0 to switch
/// that regulariser off; pixels are always kept in [0,1]. The defaults suit the kit's Fashion-MNIST network; photo
/// networks want more jitter, a wider blur, a grey background and <see cref="NormalizedGradient"/> steps.
/// </summary>
/// <param name="Steps">Gradient steps.</param>
/// <param name="LearningRate">Plain gradient ascent: each step adds this times the gradient (unless <see cref="StepRule"/> is set).</param>
/// <param name="L2Weight">λ of the penalty λ‖I − background‖²: keeps pixels the score does not need at the background.</param>
/// <param name="Jitter">Random shift in pixels before each forward pass (0: none).</param>
/// <param name="BlurEvery">Blur the image every this many steps (0: never).</param>
/// <param name="BlurSigma">Width of the blur in pixels.</param>
/// <param name="Background">The value every pixel starts at and the L2 penalty pulls towards (0: black, 0.5: mid-grey).</param>
/// <param name="Seed">Seeds the random jitter.</param>
public sealed record MaximizationOptions(int Steps = 150, double LearningRate = 0.1, double L2Weight = 0.05, int Jitter = 2,
    int BlurEvery = 4, double BlurSigma = 0.7, double Background = 0, int Seed = 0)
{
    /// <summary>Replaces plain gradient ascent (e.g. by <see cref="NormalizedGradient"/> for networks whose gradients are tiny or huge).</summary>
    public IStepRule? StepRule { get; init; }

    public void Validate()
    {
        if (Steps < 0)
            throw new ArgumentOutOfRangeException(nameof(Steps), $"The number of steps must be 0 or more; got {Steps}.");
        if (!(LearningRate > 0))
            throw new ArgumentOutOfRangeException(nameof(LearningRate), $"The learning rate must be positive; got {LearningRate}.");
        if (!(L2Weight >= 0))
            throw new ArgumentOutOfRangeException(nameof(L2Weight), $"The L2 weight must be 0 or more; got {L2Weight}.");
        if (Jitter < 0)
            throw new ArgumentOutOfRangeException(nameof(Jitter), $"Jitter must be 0 (off) or more pixels; got {Jitter}.");
        if (BlurEvery < 0)
            throw new ArgumentOutOfRangeException(nameof(BlurEvery), $"The blur period must be 0 (off) or more steps; got {BlurEvery}.");
        if (BlurEvery > 0 && !(BlurSigma > 0))
            throw new ArgumentOutOfRangeException(nameof(BlurSigma), $"The blur width must be positive; got {BlurSigma}.");
        if (Background is < 0 or > 1)
            throw new ArgumentOutOfRangeException(nameof(Background), $"The background is a pixel value and must lie in [0,1]; got {Background}.");
    }

    /// <summary>The same settings as options of the shared loop.</summary>
    public OptimizationOptions ForLoop(string label) => new(Steps, Seed)
    {
        StepRule = StepRule ?? new GradientAscent(LearningRate),
        Transforms = Jitter > 0 ? [new Jitter(Jitter)] : [],
        Regularizers = BlurEvery > 0 ? [new Blur(BlurSigma, BlurEvery), new Clamp()] : [new Clamp()],
        Label = label,
    };
}

/// <summary>
/// Keeps the network fixed and optimises an image for one of its outputs (Simonyan, Vedaldi and Zisserman, 2014):
/// arg max over I of S(I) − λ‖I‖², by gradient ascent from a plain image. For a class score S_c the result is a
/// "class model", the image the network finds most typical of the class; for a channel of a layer, the pattern that
/// channel detects.
/// </summary>
public static class ActivationMaximization
{
    /// <summary>One image per class, all optimised together (N = number of classes), each for its class's unnormalised score.</summary>
    public static SynthesisResult ClassModels(VisionModel model, IReadOnlyList<int> classes, MaximizationOptions? options = null) =>
        Run(model, Objective.ClassScore([.. classes]), classes.Count, options ?? new MaximizationOptions(), $"Class models of {model.Name}");

    /// <summary>
    /// The mean size (absolute value, over the classes and every pixel) of each class score's gradient at the plain
    /// start image of <paramref name="options"/>: how far a plain gradient step first moves the class models. A robust
    /// network's is tens of times smaller than an ordinary one's, so plain steps leave its class models at the start;
    /// <see cref="NormalizedGradient"/> steps do not depend on it.
    /// </summary>
    public static double StartGradientSize(VisionModel model, IReadOnlyList<int> classes, MaximizationOptions? options = null)
    {
        using var start = StartImages(model, classes.Count, options ?? new MaximizationOptions());
        using var scope = NewDisposeScope();
        return new UnitGradient(model, ReluBackward.Backprop).Attribute(start.Parameters, classes.ToArray()).abs().mean().item<float>();
    }

    /// <summary>One image per channel of <paramref name="layer"/>, each maximising the mean of its channel.</summary>
    public static SynthesisResult Channels(VisionModel model, string layer, IReadOnlyList<int> channels, MaximizationOptions? options = null) =>
        Run(model, Objective.Channel(layer, [.. channels]), channels.Count, options ?? new MaximizationOptions(), $"Channels of {layer}");

    /// <summary>
    /// <paramref name="count"/> images, starting at the background, optimised for <paramref name="objective"/> − λ‖I − background‖².
    /// </summary>
    public static SynthesisResult Run(VisionModel model, Objective objective, int count, MaximizationOptions options, string label = "Maximising")
    {
        using var image = StartImages(model, count, options);
        var penalized = options.L2Weight > 0 ? objective - options.L2Weight * Objective.L2(options.Background) : objective;
        return InputOptimizer.Run(model, image, penalized, options.ForLoop(label));
    }

    /// <summary>The plain start of every maximisation: <paramref name="count"/> images of the model's input shape at the options' background.</summary>
    static PixelImage StartImages(VisionModel model, int count, MaximizationOptions options)
    {
        options.Validate();
        if (count < 1)
            throw new ArgumentOutOfRangeException(nameof(count), $"Ask for at least one image; got {count}.");
        var input = model.Input;
        return PixelImage.Constant(count, input.Channels, input.Height, input.Width, options.Background, model.Device);
    }
}
