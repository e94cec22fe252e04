using WhatNetworksLearn.Data;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Synthesis;

/// <summary>Settings of a dream.</summary>
/// <param name="Layer">The layer whose response is amplified (a ReLU output works best: it sees what is there).</param>
/// <param name="Octaves">How many scales to dream at, the smallest first.</param>
/// <param name="OctaveScale">Each octave is this many times smaller than the next.</param>
/// <param name="StepsPerOctave">Gradient steps at each scale.</param>
/// <param name="Strength">The mean change of a pixel per step (the step size of the normalised gradient), in [0,1] pixel units.</param>
/// <param name="Jitter">Random roll in pixels before each step, undone by the gradient.</param>
/// <param name="Seed">Seeds the rolls.</param>
public sealed record DeepDreamOptions(string Layer, int Octaves = 4, double OctaveScale = 1.4, int StepsPerOctave = 10,
    double Strength = 0.01, int Jitter = 32, int Seed = 0)
{
    /// <summary>The smallest octave side the dream accepts.</summary>
    public const int MinimumOctaveSide = 8;

    public void Validate()
    {
        if (Octaves < 1)
            throw new ArgumentOutOfRangeException(nameof(Octaves), $"Dream at 1 octave or more; got {Octaves}.");
        if (!(OctaveScale >= 1) || (Octaves > 1 && OctaveScale == 1))
            throw new ArgumentOutOfRangeException(nameof(OctaveScale), $"The octave scale must be larger than 1 (e.g. 1.4); got {OctaveScale}.");
        if (StepsPerOctave < 0)
            throw new ArgumentOutOfRangeException(nameof(StepsPerOctave), $"The number of steps must be 0 or more; got {StepsPerOctave}.");
        if (!(Strength >= 0))
            throw new ArgumentOutOfRangeException(nameof(Strength), $"The strength must be 0 or more; got {Strength}.");
        if (Jitter < 0)
            throw new ArgumentOutOfRangeException(nameof(Jitter), $"Jitter must be 0 pixels or more; got {Jitter}.");
    }
}

/// <summary>One scale of a dream: its size, the objective at each of its steps, and the dream as it stood at its end (N x C x H x W, CPU).</summary>
public sealed record DeepDreamOctave(long Height, long Width, IReadOnlyList<double> Objective, Tensor Image);

/// <summary>The dreamt image (same shape as the input, on the CPU) and the octaves that made it, smallest first.</summary>
public sealed record DeepDreamResult(Tensor Image, IReadOnlyList<DeepDreamOctave> Octaves) : IDisposable
{
    public void Dispose()
    {
        Image.Dispose();
        foreach (var octave in Octaves)
            octave.Image.Dispose();
    }
}

/// <summary>
/// DeepDream (Mordvintsev, Olah and Tyka, 2015): change a photo so that a chosen layer responds even more strongly to
/// whatever it already sees. The objective is the mean square of the layer's output; each step moves the pixels
/// along the gradient normalised by its mean absolute value. It dreams first on a small copy of the photo, so that
/// the patterns come out large, then carries the detail it added up to the next scale, and so on to full size.
/// </summary>
public static class DeepDream
{
    /// <summary>
    /// Dreams on <paramref name="image"/> (C x H x W or N x C x H x W, pixels in [0,1], at most the model's input size).
    /// Octaves smaller than the model's input are mirrored up to it (see <see cref="ReflectToSize"/>): networks such as
    /// the ResNet-18 trunk take only 224 x 224 images.
    /// </summary>
    public static DeepDreamResult Run(VisionModel model, Tensor image, DeepDreamOptions options)
    {
        options.Validate();
        var objective = Objective.MeanSquare(options.Layer);
        objective.Check(model);
        using var scope = NewDisposeScope();
        var photo = CheckImage(model, image);
        var sizes = OctaveSizes(photo.shape[2], photo.shape[3], options);
        var bases = sizes.Select((size, k) => k == 0 ? photo : Images.Resize(photo, size.Height, size.Width)).ToList();

        var loop = new OptimizationOptions(options.StepsPerOctave, options.Seed)
        {
            StepRule = new NormalizedGradient(options.Strength),
            Transforms = [new Jitter(options.Jitter), new ReflectToSize(model.Input.Height, model.Input.Width)],
            Regularizers = [new Clamp()],
        };
        using var random = new Generator((ulong)options.Seed);
        using var progress = ProgressDisplay.Start($"DeepDream at {options.Layer}", sizes.Count * options.StepsPerOctave);
        var octaves = new List<DeepDreamOctave>();
        var detail = zeros_like(bases[^1]);
        Tensor dreamt = bases[^1];
        for (int k = sizes.Count - 1; k >= 0; k--)
        {
            var (height, width) = sizes[k];
            using var dream = new PixelImage(OctaveStart(bases[k], detail));
            int done = (sizes.Count - 1 - k) * options.StepsPerOctave;
            using var result = InputOptimizer.Run(model, dream, objective, loop, random,
                step => progress.Report(done + step.Step + 1, $"octave {sizes.Count - k}/{sizes.Count} ({height} x {width}): {step.Objective:G4}"));
            dreamt = result.Images.to(photo.device);
            detail = dreamt - bases[k];
            octaves.Add(new DeepDreamOctave(height, width, result.Objective, result.Images.clone().MoveToOuterDisposeScope()));
        }
        var output = image.dim() == 3 ? dreamt.squeeze(0) : dreamt;
        return new DeepDreamResult(output.cpu().clone().MoveToOuterDisposeScope(), octaves);
    }

    /// <summary>
    /// Where an octave starts: its copy of the photo (N x C x H x W, the photo at this octave's size by
    /// <see cref="Images.Resize"/>) plus the detail dreamt so far (the previous octave's dream minus its copy of the photo,
    /// N x C x h x w), enlarged to this octave's size (bilinear), clipped to [0, 1].
    /// </summary>
    public static Tensor OctaveStart(Tensor photoAtOctave, Tensor detail)
    {
        if (photoAtOctave.dim() != 4 || detail.dim() != 4 || photoAtOctave.shape[0] != detail.shape[0] || photoAtOctave.shape[1] != detail.shape[1])
            throw new ArgumentException($"Expected the photo and the detail as batches N x C x H x W with the same N and C; got " +
                                        $"[{string.Join(", ", photoAtOctave.shape)}] and [{string.Join(", ", detail.shape)}].", nameof(detail));
        long height = photoAtOctave.shape[2], width = photoAtOctave.shape[3];
        if (detail.shape[2] != height || detail.shape[3] != width)
            detail = nn.functional.interpolate(detail, [height, width], mode: InterpolationMode.Bilinear, align_corners: false);
        return (photoAtOctave + detail).clamp(0, 1);
    }

    /// <summary>The size of each octave, the full size first; refuses octaves smaller than <see cref="DeepDreamOptions.MinimumOctaveSide"/>.</summary>
    internal static List<(long Height, long Width)> OctaveSizes(long height, long width, DeepDreamOptions options)
    {
        var sizes = Enumerable.Range(0, options.Octaves)
            .Select(k => ((long)Math.Round(height / Math.Pow(options.OctaveScale, k)), (long)Math.Round(width / Math.Pow(options.OctaveScale, k))))
            .ToList();
        var (smallestHeight, smallestWidth) = sizes[^1];
        if (Math.Min(smallestHeight, smallestWidth) < DeepDreamOptions.MinimumOctaveSide)
            throw new ArgumentOutOfRangeException(nameof(options),
                $"The smallest octave would be {smallestHeight} x {smallestWidth} pixels, below the minimum of {DeepDreamOptions.MinimumOctaveSide}: use fewer octaves or a smaller octave scale.");
        return sizes;
    }

    /// <summary>The image as a float batch on the model's device, after checking its shape, size and values.</summary>
    static Tensor CheckImage(VisionModel model, Tensor image)
    {
        var given = $"[{string.Join(", ", image.shape)}]";
        if (image.dim() is not (3 or 4))
            throw new ArgumentException($"Expected an image C x H x W or a batch N x C x H x W; got {given}.", nameof(image));
        var batch = (image.dim() == 3 ? image.unsqueeze(0) : image).to(ScalarType.Float32, model.Device);
        var input = model.Input;
        if (batch.shape[0] == 0)
            throw new ArgumentException("The batch is empty (0 images); pass at least one image.", nameof(image));
        if (batch.shape[1] != input.Channels)
            throw new ArgumentException($"{model.Name} takes {input.Channels}-channel images; got {given}. Images.Prepare(image, model) converts it.", nameof(image));
        if (batch.shape[2] > input.Height || batch.shape[3] > input.Width)
            throw new ArgumentException($"{model.Name} takes images up to {input.Height} x {input.Width}; got {given}. Images.Prepare(image, model) resizes it.", nameof(image));
        if (!batch.isfinite().all().item<bool>())
            throw new ArgumentException("The images given to DeepDream contain NaN or infinite values.", nameof(image));
        PixelRange.Check(batch, "DeepDream", nameof(image));
        return batch;
    }
}
