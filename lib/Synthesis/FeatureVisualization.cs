using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Synthesis;

/// <summary>What the optimiser changes: every pixel, or the image's spectrum with decorrelated colours (<see cref="FourierImage"/>).</summary>
public enum ImageBasis
{
    /// <summary>Every pixel is a free number (<see cref="PixelImage"/>), clamped to [0,1] after each step.</summary>
    Pixels,

    /// <summary>The spectrum scaled by 1/frequency, colours decorrelated, and a sigmoid (<see cref="FourierImage"/>).</summary>
    Fourier,
}

/// <summary>
/// Settings of feature visualisation as Lucid does it: a parameterisation, and random transforms that the result
/// must survive. The transforms are applied in this order before every forward pass: a grey border of
/// <paramref name="Pad"/> pixels, a zoom by up to ±<paramref name="Zoom"/>, a turn by up to ±<paramref name="Degrees"/>,
/// then a crop back to the model's input size at a random place (a shift of up to <paramref name="Pad"/> pixels either way).
/// </summary>
/// <param name="Steps">Gradient steps.</param>
/// <param name="StepSize">The learning rate of <see cref="Adam"/>, about the largest change of a parameter per step: in pixel
/// units for <see cref="ImageBasis.Pixels"/>, in units of the unscaled spectrum for <see cref="ImageBasis.Fourier"/>.</param>
/// <param name="Basis">What the optimiser changes.</param>
/// <param name="Decay">Fourier basis: the exponent of 1/frequency (Lucid: 1).</param>
/// <param name="DecorrelateColors">Fourier basis, colour models: mix the channels with <see cref="ColorDecorrelation.Matrix"/>.</param>
/// <param name="Pad">Grey border before the random transforms, in pixels (0: none, and no random shift).</param>
/// <param name="Zoom">Largest relative zoom either way (0.1: between 90 % and 110 %; 0: none).</param>
/// <param name="Degrees">Largest turn either way (0: none).</param>
/// <param name="Seed">Seeds the starting noise and every random transform.</param>
public sealed record FeatureVisualizationOptions(int Steps = 64, double StepSize = 0.05, ImageBasis Basis = ImageBasis.Fourier, double Decay = 1,
    bool DecorrelateColors = true, int Pad = 12, double Zoom = 0.1, double Degrees = 10, int Seed = 0)
{
    /// <summary>
    /// The standard deviation of the starting spectrum (<see cref="FourierImage.Random"/>): 0.01 gives a faint noise
    /// around grey (pixel spread about 0.013), 0.1 a visible one (about 0.12). A unit behind a ReLU that is silent on
    /// the start everywhere has no gradient and never moves; deep units need the stronger start more often.
    /// </summary>
    public double StartNoise { get; init; } = 0.01;

    public void Validate()
    {
        if (!(StartNoise >= 0) || double.IsInfinity(StartNoise))
            throw new ArgumentOutOfRangeException(nameof(StartNoise), $"The starting noise is a standard deviation and must be 0 or more (e.g. 0.01); got {StartNoise}.");
        if (Steps < 0)
            throw new ArgumentOutOfRangeException(nameof(Steps), $"The number of steps must be 0 or more; got {Steps}.");
        if (!(StepSize > 0) || double.IsInfinity(StepSize))
            throw new ArgumentOutOfRangeException(nameof(StepSize), $"The step size must be positive (e.g. 0.05); got {StepSize}.");
        if (!(Decay >= 0) || double.IsInfinity(Decay))
            throw new ArgumentOutOfRangeException(nameof(Decay), $"The decay exponent must be 0 or more (Lucid: 1); got {Decay}.");
        if (Pad < 0)
            throw new ArgumentOutOfRangeException(nameof(Pad), $"The border must be 0 pixels or more; got {Pad}.");
        if (!(Zoom >= 0 && Zoom < 1))
            throw new ArgumentOutOfRangeException(nameof(Zoom), $"The zoom is a fraction in [0,1) (0.1: 90 % to 110 %); got {Zoom}.");
        if (!(Degrees >= 0 && Degrees <= 180))
            throw new ArgumentOutOfRangeException(nameof(Degrees), $"The largest turn must lie between 0 and 180 degrees; got {Degrees}.");
    }

    /// <summary>The random transforms, in order, for a model that takes <paramref name="input"/>.</summary>
    public IReadOnlyList<ITransform> Transforms(InputSpec input)
    {
        var transforms = new List<ITransform>();
        if (Pad > 0)
            transforms.Add(new Pad(Pad));
        if (Zoom > 0)
            transforms.Add(new RandomScale(1 - Zoom, 1 + Zoom));
        if (Degrees > 0)
            transforms.Add(new RandomRotation(Degrees));
        if (Pad > 0)
            transforms.Add(new RandomCrop(input.Height, input.Width));
        return transforms;
    }

    /// <summary>The same settings as options of the shared loop.</summary>
    public OptimizationOptions ForLoop(InputSpec input, string label) => new(Steps, Seed)
    {
        StepRule = new Adam(StepSize),
        Transforms = Transforms(input),
        Regularizers = Basis == ImageBasis.Pixels ? [new Clamp()] : [],   // the sigmoid keeps Fourier images in range
        Label = label,
    };
}

/// <summary>
/// Feature visualisation (Olah, Mordvintsev and Schubert, 2017; notebook 09): the image a channel or a class responds
/// to most, made readable not by penalties on the image but by how the image is described (<see cref="ImageBasis"/>)
/// and by random transforms it must survive. The optimisation itself is the shared <see cref="InputOptimizer"/> loop.
/// </summary>
public static class FeatureVisualization
{
    /// <summary>One image per channel of <paramref name="layer"/>, each maximising the mean of its channel.</summary>
    public static SynthesisResult Channels(VisionModel model, string layer, IReadOnlyList<int> channels, FeatureVisualizationOptions? options = null) =>
        Run(model, Objective.Channel(layer, [.. channels]), channels.Count, options ?? new FeatureVisualizationOptions(), label: $"Visualising {layer}");

    /// <summary>One image per class, each maximising its class's unnormalised score.</summary>
    public static SynthesisResult Classes(VisionModel model, IReadOnlyList<int> classes, FeatureVisualizationOptions? options = null) =>
        Run(model, Objective.ClassScore([.. classes]), classes.Count, options ?? new FeatureVisualizationOptions(), label: $"Visualising classes of {model.Name}");

    /// <summary>
    /// <paramref name="count"/> images optimised for <paramref name="objective"/>, starting from faint noise, or from
    /// <paramref name="start"/> (N x C x H x W pixels in [0,1], the model's size) if given.
    /// </summary>
    public static SynthesisResult Run(VisionModel model, Objective objective, int count, FeatureVisualizationOptions options, Tensor? start = null,
        string label = "Visualising")
    {
        options.Validate();
        objective.Check(model);
        using var image = Start(model, count, options, start);
        return InputOptimizer.Run(model, image, objective, options.ForLoop(model.Input, label));
    }

    /// <summary>
    /// The parameterisation the options ask for, before the first step. Both bases start from the same picture: the
    /// noise of <see cref="FourierImage.Random"/> (<see cref="FeatureVisualizationOptions.StartNoise"/>) for the seed (pixels
    /// take the image it renders to), or the photo.
    /// </summary>
    public static IImageParameterization Start(VisionModel model, int count, FeatureVisualizationOptions options, Tensor? start = null)
    {
        var input = model.Input;
        if (start is not null && (start.dim() != 4 || start.shape[0] != count || start.shape[1] != input.Channels
            || start.shape[2] != input.Height || start.shape[3] != input.Width))
            throw new ArgumentException($"The start must be {count} x {input.Channels} x {input.Height} x {input.Width} pixels (one image per result, the model's size); " +
                $"got [{string.Join(", ", start.shape)}]. Images.Prepare(image, model) fits a photo to the model.", nameof(start));
        if (count < 1)
            throw new ArgumentOutOfRangeException(nameof(count), $"Ask for at least one image; got {count}.");
        if (options.Basis == ImageBasis.Pixels && start is not null)
        {
            FourierImage.CheckPixels(start);
            return new PixelImage(start, model.Device);
        }
        var fourier = start is null
            ? FourierImage.Random(count, input.Channels, input.Height, input.Width, options.Seed, options.Decay, options.DecorrelateColors, options.StartNoise, model.Device)
            : FourierImage.FromPixels(start, options.Decay, options.DecorrelateColors, model.Device);
        if (options.Basis == ImageBasis.Fourier)
            return fourier;
        using (fourier)
        using (no_grad())
        using (var pixels = fourier.Render(fourier.Parameters))
            return new PixelImage(pixels);
    }
}
