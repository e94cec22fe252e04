using System.Runtime.InteropServices;
using SkiaSharp;
using TorchSharp;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Synthesis;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Adversarial;

/// <summary>
/// One step of the simulated print-and-photograph pipeline. A step first draws the random conditions of each image
/// (one row per image: how much brighter, how far turned, which sensor noise) and then applies them with plain tensor
/// operations. Keeping the two apart lets the same conditions be replayed on a clean and an adversarial image, and
/// makes a batch give exactly what its images give one by one. As an <see cref="ITransform"/> a step can also be used
/// inside any input optimisation; the gradient flows through it.
/// </summary>
public abstract record PhotoStep : ITransform
{
    /// <summary>What the step does and how strongly, for captions.</summary>
    public abstract string Name { get; }

    /// <summary>The random conditions for images of this shape (N x C x H x W): a tensor whose row i belongs to image i (on the CPU).</summary>
    public abstract Tensor Draw(long[] shape, Generator random);

    /// <summary>Applies the step to images (N x C x H x W in [0,1]) under the given conditions; the result stays in [0,1].</summary>
    public abstract Tensor Apply(Tensor images, Tensor conditions);

    /// <summary>Draws fresh conditions for every image from <paramref name="random"/> and applies them.</summary>
    public Tensor Apply(Tensor images, Generator random)
    {
        using var conditions = Draw(images.shape, random);
        return Apply(images, conditions);
    }

    /// <summary>
    /// Conditions of <paramref name="count"/> images, one column per setting, each drawn uniformly from
    /// [Centre − HalfWidth, Centre + HalfWidth] (random numbers in <paramref name="precision"/>, result in float32).
    /// </summary>
    protected static Tensor DrawUniform(long count, Generator random, ScalarType precision, params (double Centre, double HalfWidth)[] settings)
    {
        using var scope = NewDisposeScope();
        var uniform = rand(count, settings.Length, generator: random, dtype: precision) * 2 - 1;
        var columns = settings.Select((s, i) => s.Centre + uniform[.., i] * s.HalfWidth).ToArray();
        return stack(columns, 1).to_type(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <summary>No conditions: for steps that treat every image the same (N x 0).</summary>
    protected static Tensor Nothing(long[] shape) => zeros(new[] { shape[0], 0L });

    /// <summary>Checks a strength given to a step: finite and ≥ 0, at most <paramref name="limit"/>.</summary>
    protected static double CheckStrength(double value, string name, string what, double limit = double.MaxValue)
    {
        if (!(value >= 0) || !(value <= limit))
            throw new ArgumentOutOfRangeException(name, $"{what} must be a number from 0 to {limit}; got {value}. Use 0 to switch the step off.");
        return value;
    }
}

/// <summary>
/// Light on the printed page and the camera's exposure: every image gets its own brightness offset b, drawn from
/// [−<paramref name="Brightness"/>, +<paramref name="Brightness"/>], and contrast factor c, drawn from
/// [1 − <paramref name="Contrast"/>, 1 + <paramref name="Contrast"/>]; a pixel x becomes clamp(c (x − ½) + ½ + b, 0, 1).
/// Conditions: N x 2, columns (b, c).
/// </summary>
public sealed record Lighting(double Brightness, double Contrast) : PhotoStep
{
    public double Brightness { get; } = CheckStrength(Brightness, nameof(Brightness), "The brightness change", 1);
    public double Contrast { get; } = CheckStrength(Contrast, nameof(Contrast), "The contrast change", 1);

    public override string Name => $"lighting ±{Brightness:0.##}, contrast ±{Contrast:0.##}";

    public override Tensor Draw(long[] shape, Generator random) =>
        DrawUniform(shape[0], random, ScalarType.Float32, (0, Brightness), (1, Contrast));

    public override Tensor Apply(Tensor images, Tensor conditions)
    {
        using var scope = NewDisposeScope();
        var values = conditions.to(images.device).reshape(-1, 2, 1, 1, 1);
        var brightness = values[.., 0];
        var contrast = values[.., 1];
        return ((images - 0.5) * contrast + 0.5 + brightness).clamp(0, 1).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// The camera held a little turned and a little nearer or farther: every image is turned about its centre by an angle
/// from [−<paramref name="Degrees"/>, +<paramref name="Degrees"/>] (positive: anticlockwise on screen) and enlarged by a
/// factor from [1 − <paramref name="ScaleChange"/>, 1 + <paramref name="ScaleChange"/>], keeping its size (bilinear,
/// edge pixels repeated outside). Conditions: N x 2, columns (angle in degrees, scale factor).
/// </summary>
public sealed record RotateAndScale(double Degrees, double ScaleChange) : PhotoStep
{
    public double Degrees { get; } = CheckStrength(Degrees, nameof(Degrees), "The rotation range in degrees", 180);
    public double ScaleChange { get; } = CheckStrength(ScaleChange, nameof(ScaleChange), "The scale change", 0.9);

    public override string Name => $"turn ±{Degrees:0.#}°, zoom ±{ScaleChange:0.##}";

    public override Tensor Draw(long[] shape, Generator random) =>
        DrawUniform(shape[0], random, ScalarType.Float64, (0, Degrees), (1, ScaleChange));

    public override Tensor Apply(Tensor images, Tensor conditions)
    {
        using var scope = NewDisposeScope();
        var values = conditions.to(ScalarType.Float64).to(images.device);
        return ImageFilters.RotateAndZoom(images, values[.., 0] * (Math.PI / 180), values[.., 1], GridSamplePaddingMode.Border)
            .clamp(0, 1).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Ink spreading on paper and a lens slightly out of focus: a Gaussian blur of standard deviation
/// <paramref name="Sigma"/> pixels (<see cref="ImageFilters.GaussianBlur"/>, edge pixels repeated), the same for every
/// image. σ = 0 leaves the images unchanged. No conditions.
/// </summary>
public sealed record GaussianBlur(double Sigma) : PhotoStep
{
    public double Sigma { get; } = CheckStrength(Sigma, nameof(Sigma), "The blur's standard deviation (pixels)", 20);

    public override string Name => $"blur σ {Sigma:0.##}";

    public override Tensor Draw(long[] shape, Generator random) => Nothing(shape);

    public override Tensor Apply(Tensor images, Tensor conditions)
    {
        using var blurred = ImageFilters.GaussianBlur(images, Sigma);
        return blurred.clamp(0, 1);
    }
}

/// <summary>
/// The camera's sensor noise: independent Gaussian noise of standard deviation <paramref name="Sigma"/> (pixel units)
/// added to every pixel, then clamped to [0,1]. Conditions: standard normal noise shaped like the images.
/// </summary>
public sealed record SensorNoise(double Sigma) : PhotoStep
{
    public double Sigma { get; } = CheckStrength(Sigma, nameof(Sigma), "The noise's standard deviation", 1);

    public override string Name => $"noise σ {Sigma:0.###}";

    public override Tensor Draw(long[] shape, Generator random) => randn(shape, generator: random);

    public override Tensor Apply(Tensor images, Tensor conditions)
    {
        using var scope = NewDisposeScope();
        return (images + Sigma * conditions.to(images.dtype).to(images.device)).clamp(0, 1).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// The camera saves a JPEG: each image is rounded to bytes, encoded at <paramref name="Quality"/> (1-100) and decoded
/// again with SkiaSharp (greyscale images as greyscale JPEGs). JPEG has no gradient, so the step is
/// <b>straight-through</b>: the forward pass gives the decoded image, the backward pass treats the step as the
/// identity (the gradient reaches the input unchanged). No conditions; deterministic.
/// </summary>
public sealed record JpegCompression(int Quality) : PhotoStep
{
    public int Quality { get; } = Quality is >= 1 and <= 100 ? Quality
        : throw new ArgumentOutOfRangeException(nameof(Quality), $"JPEG quality must be from 1 (smallest file) to 100 (best); got {Quality}.");

    public override string Name => $"JPEG quality {Quality}";

    public override Tensor Draw(long[] shape, Generator random) => Nothing(shape);

    public override Tensor Apply(Tensor images, Tensor conditions)
    {
        using var scope = NewDisposeScope();
        var decoded = Compress(images.detach()).to(images.dtype).to(images.device);
        // Value: exactly the decoded image (x - x is exactly 0); gradient: exactly that of the identity.
        return (decoded + (images - images.detach())).MoveToOuterDisposeScope();
    }

    /// <summary>Encodes and decodes every image of the batch (on the CPU, one Skia call each); the result is N x C x H x W in [0,1].</summary>
    Tensor Compress(Tensor images)
    {
        long n = images.shape[0], channels = images.shape[1];
        int height = (int)images.shape[2], width = (int)images.shape[3];
        if (channels is not (1 or 3))
            throw new ArgumentException($"JPEG compression needs greyscale (1 channel) or colour (3 channels) images; got {channels} channels.", nameof(images));
        using var scope = NewDisposeScope();
        var bytes = images.cpu().to_type(ScalarType.Float32).clamp(0, 1).mul(255).round().to_type(ScalarType.Byte);
        // Skia's byte layouts: Gray8 (one byte per pixel) or RGBA (four, alpha opaque).
        var layout = channels == 1 ? bytes.reshape(n, height, width)
            : cat([bytes, full(n, 1, height, width, (byte)255, ScalarType.Byte)], 1).permute(0, 2, 3, 1);
        var pixels = layout.contiguous().data<byte>().ToArray();
        var info = new SKImageInfo(width, height, channels == 1 ? SKColorType.Gray8 : SKColorType.Rgba8888,
            channels == 1 ? SKAlphaType.Opaque : SKAlphaType.Unpremul);
        int imageBytes = info.BytesSize;
        using var bitmap = new SKBitmap(info);
        for (int i = 0; i < n; i++)
        {
            Marshal.Copy(pixels, i * imageBytes, bitmap.GetPixels(), imageBytes);
            using var encoded = bitmap.Encode(SKEncodedImageFormat.Jpeg, Quality);
            using var codec = SKCodec.Create(encoded)
                ?? throw new InvalidOperationException("SkiaSharp could not read back the JPEG it just wrote.");
            var result = codec.GetPixels(info, bitmap.GetPixels());
            if (result != SKCodecResult.Success)
                throw new InvalidOperationException($"SkiaSharp could not decode the JPEG it just wrote ({result}).");
            Marshal.Copy(bitmap.GetPixels(), pixels, i * imageBytes, imageBytes);
        }
        var decoded = tensor(pixels, layout.shape);
        var chw = channels == 1 ? decoded.unsqueeze(1) : decoded.permute(0, 3, 1, 2)[.., ..3];
        return chw.to_type(ScalarType.Float32).div(255f).contiguous().MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Strengths of the standard simulated print-and-photo pipeline (see <see cref="PrintAndPhoto"/>): in the order light,
/// camera pose, focus, sensor, file. Every strength 0 (and JPEG quality 100) is nearly the identity.
/// </summary>
public sealed record PrintAndPhotoOptions(double Brightness = 0.1, double Contrast = 0.2, double Degrees = 8, double ScaleChange = 0.08,
    double BlurSigma = 0.6, double NoiseSigma = 0.03, int JpegQuality = 50);

/// <summary>
/// How many adversarial examples survived the pipeline, counted as Kurakin, Goodfellow and Bengio (2016) count it.
/// An image counts only if the network is right on the clean image, the attack succeeded before the pipeline, and the
/// network is still right on the clean image after the same pipeline (the same light, pose and noise), so a failure
/// of the camera alone is not mistaken for the attack. Of those, it <b>survived</b> if the adversarial image is still
/// adversarial after the pipeline (untargeted: still wrong; targeted: still the target).
/// </summary>
/// <param name="Photos">Images × photos per image that were compared.</param>
/// <param name="CleanAccuracy">Accuracy on the clean images, before the pipeline.</param>
/// <param name="PhotoAccuracy">Accuracy on the clean images after the pipeline.</param>
/// <param name="SuccessBefore">Fraction of adversarial images that reach the attack's goal before the pipeline.</param>
/// <param name="SuccessAfter">Fraction that reach it after the pipeline.</param>
/// <param name="Counted">Photos that meet the three conditions above.</param>
/// <param name="Survived">Of those, the ones still adversarial after the pipeline.</param>
public sealed record SurvivalResult(int Photos, double CleanAccuracy, double PhotoAccuracy, double SuccessBefore, double SuccessAfter,
    int Counted, int Survived)
{
    /// <summary>Survived / Counted (NaN when nothing was counted).</summary>
    public double SurvivalRate => Counted == 0 ? double.NaN : (double)Survived / Counted;

    /// <summary>Kurakin's destruction rate: the fraction of counted adversarial examples the pipeline made harmless.</summary>
    public double DestructionRate => 1 - SurvivalRate;
}

/// <summary>
/// A simulated "print it, then photograph it with a phone" (after Kurakin, Goodfellow and Bengio, 2016): a list of
/// <see cref="PhotoStep"/>s applied in order, each drawing its own random conditions per image from one seeded
/// generator. The standard pipeline is lighting → rotation and scale → blur → sensor noise → JPEG. It is an
/// <see cref="ITransform"/>, so an attack can optimise over it (expectation over transformation, see
/// <see cref="PgdOptions.RobustTo"/>).
/// </summary>
public sealed class PrintAndPhoto : ITransform
{
    /// <summary>The standard pipeline with the given strengths.</summary>
    public PrintAndPhoto(PrintAndPhotoOptions? options = null)
    {
        var o = options ?? new PrintAndPhotoOptions();
        Steps = [new Lighting(o.Brightness, o.Contrast), new RotateAndScale(o.Degrees, o.ScaleChange), new GaussianBlur(o.BlurSigma),
            new SensorNoise(o.NoiseSigma), new JpegCompression(o.JpegQuality)];
    }

    /// <summary>Any steps, in the order given (for example JPEG alone, to see what one step does).</summary>
    public PrintAndPhoto(params PhotoStep[] steps)
    {
        if (steps.Length == 0)
            throw new ArgumentException("A pipeline needs at least one step.", nameof(steps));
        Steps = steps;
    }

    public IReadOnlyList<PhotoStep> Steps { get; }

    /// <summary>Every step in order, each with fresh conditions per image from <paramref name="random"/>.</summary>
    public Tensor Apply(Tensor images, Generator random)
    {
        using var scope = NewDisposeScope();
        var result = images;
        foreach (var step in Steps)
            result = step.Apply(result, random);
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>The same with a generator seeded by <paramref name="seed"/>: equal seeds and shapes give equal conditions.</summary>
    public Tensor Apply(Tensor images, int seed)
    {
        using var random = new Generator((ulong)seed);
        return Apply(images, random);
    }

    /// <summary>The images after each step (one tensor per step, the last being <see cref="Apply(Tensor, int)"/>), for a figure.</summary>
    public IReadOnlyList<Tensor> Stages(Tensor images, int seed)
    {
        using var random = new Generator((ulong)seed);
        var stages = new List<Tensor>();
        using var noGrad = no_grad();
        var current = images;
        foreach (var step in Steps)
            stages.Add(current = step.Apply(current, random));
        return stages;
    }

    /// <summary>
    /// Photographs clean and adversarial images under identical conditions (<paramref name="photos"/> photos of each
    /// image, conditions from <paramref name="seed"/>) and counts the adversarial examples that survive (see
    /// <see cref="SurvivalResult"/>). Untargeted by default; with <paramref name="targets"/> (one class for every image,
    /// or one per image), "adversarial" means "classified as its target".
    /// </summary>
    public SurvivalResult Survival(VisionModel model, Tensor clean, Tensor adversarial, Tensor labels, int seed = 0, int photos = 1,
        Targets? targets = null)
    {
        if (!clean.shape.SequenceEqual(adversarial.shape))
            throw new ArgumentException($"Clean and adversarial images must have the same shape; got [{string.Join(", ", clean.shape)}] and [{string.Join(", ", adversarial.shape)}].", nameof(adversarial));
        if (photos < 1)
            throw new ArgumentOutOfRangeException(nameof(photos), $"Take at least 1 photo of each image; got {photos}.");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (original, goal) = AttackSteps.Prepare(model, clean, labels, targets);
        AttackSteps.Check(model, adversarial, labels, targets);
        var copies = goal.Select(arange(clean.shape[0], device: model.Device).repeat(photos));   // photo p of image i is copy p N + i
        var cleanImages = original.repeat(photos, 1, 1, 1);
        var adversarialImages = adversarial.to(model.Device).repeat(photos, 1, 1, 1);
        Tensor Predict(Tensor images) => model.Module.forward(images).argmax(1);

        var cleanRight = Predict(cleanImages).eq(copies.Labels);
        var photoRight = Predict(Apply(cleanImages, seed)).eq(copies.Labels);
        var before = copies.ReachedBy(Predict(adversarialImages));
        var after = copies.ReachedBy(Predict(Apply(adversarialImages, seed)));
        var counted = cleanRight.logical_and(before).logical_and(photoRight);
        static double Mean(Tensor flags) => flags.to_type(ScalarType.Float64).mean().item<double>();
        return new SurvivalResult((int)copies.Labels.shape[0], Mean(cleanRight), Mean(photoRight), Mean(before), Mean(after),
            (int)counted.sum().item<long>(), (int)counted.logical_and(after).sum().item<long>());
    }
}
