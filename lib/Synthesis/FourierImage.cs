using TorchSharp;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Synthesis;

/// <summary>
/// Images described by their spectrum (notebook 09), as Lucid does it (Olah, Mordvintsev and Schubert, 2017, "Feature
/// Visualization"). The parameters are the real and imaginary parts of each channel's 2-D Fourier transform, each
/// multiplied by 1 / frequency^<see cref="Decay"/> before the inverse transform; colour images then go through
/// <see cref="ColorDecorrelation"/>, and a sigmoid maps every value into (0,1).
/// </summary>
/// <remarks>
/// Why it helps: a gradient step on pixels changes every pixel on its own, and the fine, high-frequency patterns a
/// network reacts to grow fastest. Here one step changes every frequency by a comparable amount of parameter, which the
/// 1/f scaling turns into the spectrum of a natural photo, most of it coarse. It plays the role of the blur of plain
/// class models, without taking anything away from the objective. Colours decorrelated the same way keep the
/// colour noise down. The sigmoid keeps pixels valid without clamping, so the loop needs no regulariser.
/// </remarks>
public sealed class FourierImage : IImageParameterization
{
    /// <summary>How far a photo's pixels are moved from 0 and 1 by <see cref="FromPixels"/>: the sigmoid never reaches them.</summary>
    public const double Margin = 1e-3;

    readonly Tensor scale;
    readonly long height, width;

    FourierImage(Tensor parameters, long height, long width, double decay, bool decorrelate)
    {
        this.height = height;
        this.width = width;
        Decay = decay;
        Decorrelated = decorrelate && parameters.shape[1] == 3;
        using var scope = NewDisposeScope();
        scale = FrequencyScale(height, width, decay).to(parameters.device).unsqueeze(-1).DetachFromDisposeScope();
        Parameters = parameters.DetachFromDisposeScope();
    }

    /// <summary>
    /// <paramref name="count"/> images of <paramref name="channels"/> x <paramref name="height"/> x <paramref name="width"/>
    /// whose parameters are Gaussian noise of standard deviation <paramref name="noise"/>, drawn from <paramref name="seed"/>:
    /// for the default, a grey image with faint, soft colour noise. <paramref name="decay"/> is the exponent of 1/frequency
    /// (0: every frequency alike, as for pixels; 1: Lucid's choice; larger: smoother); <paramref name="decorrelate"/> mixes
    /// the channels of colour images with <see cref="ColorDecorrelation.Matrix"/> (other channel counts are left alone).
    /// </summary>
    public static FourierImage Random(int count, int channels, int height, int width, int seed = 0, double decay = 1, bool decorrelate = true,
        double noise = 0.01, Device? device = null)
    {
        CheckShape(count, channels, height, width);
        CheckDecay(decay);
        if (!(noise >= 0) || double.IsInfinity(noise))
            throw new ArgumentOutOfRangeException(nameof(noise), $"The noise is a standard deviation and must be 0 or more; got {noise}.");
        using var scope = NewDisposeScope();
        using var random = new Generator((ulong)seed);
        var parameters = (randn([count, channels, height, width / 2 + 1, 2], generator: random) * noise).to(device ?? CPU);
        return new FourierImage(parameters, height, width, decay, decorrelate);
    }

    /// <summary>
    /// The parameters that render to <paramref name="pixels"/> (N x C x H x W in [0,1]): the inverse of <see cref="Render"/>,
    /// so that optimisation can start from a photo. Pixels are first kept <see cref="Margin"/> away from 0 and 1, less
    /// than a quarter of one 8-bit grey level, because the sigmoid only approaches them.
    /// </summary>
    public static FourierImage FromPixels(Tensor pixels, double decay = 1, bool decorrelate = true, Device? device = null)
    {
        if (pixels.dim() != 4)
            throw new ArgumentException($"Expected a batch of images N x C x H x W; got [{string.Join(", ", pixels.shape)}].", nameof(pixels));
        CheckShape(pixels.shape[0], pixels.shape[1], pixels.shape[2], pixels.shape[3]);
        CheckDecay(decay);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var values = pixels.to(ScalarType.Float32, device ?? pixels.device);
        CheckPixels(values);
        var logits = values.clamp(Margin, 1 - Margin).logit();
        if (decorrelate && values.shape[1] == 3)
            logits = ColorDecorrelation.FromRgb(logits);
        long height = values.shape[2], width = values.shape[3];
        var spectrum = view_as_real(fft.rfft2(logits, norm: FFTNormType.Ortho));
        var parameters = spectrum / FrequencyScale(height, width, decay).to(spectrum.device).unsqueeze(-1);
        return new FourierImage(parameters.contiguous(), height, width, decay, decorrelate);
    }

    /// <summary>
    /// The factor each frequency of an H x W spectrum is multiplied by (H x (W/2 + 1), the layout of a real FFT):
    /// 1 / max(f, 1/max(H, W))^decay, where f is the frequency in cycles per pixel. The floor keeps the mean (f = 0)
    /// at the weight of the slowest wave the image holds.
    /// </summary>
    public static Tensor FrequencyScale(long height, long width, double decay)
    {
        using var scope = NewDisposeScope();
        var fy = fft.fftfreq(height, dtype: ScalarType.Float32).unsqueeze(1);
        var fx = fft.rfftfreq(width, dtype: ScalarType.Float32).unsqueeze(0);
        var frequency = (fy.square() + fx.square()).sqrt();
        return frequency.clamp_min(1.0 / Math.Max(height, width)).pow(-decay).MoveToOuterDisposeScope();
    }

    /// <summary>The real and imaginary parts of each channel's spectrum before the 1/f scaling: N x C x H x (W/2 + 1) x 2.</summary>
    public Tensor Parameters { get; }

    /// <summary>The exponent of 1/frequency.</summary>
    public double Decay { get; }

    /// <summary>Whether the channels are mixed by <see cref="ColorDecorrelation.Matrix"/> (colour images only).</summary>
    public bool Decorrelated { get; }

    /// <summary>
    /// The images <paramref name="parameters"/> (shaped like <see cref="Parameters"/>) stand for, N x C x H x W with
    /// values in (0,1), differentiable with respect to them.
    /// </summary>
    public Tensor Render(Tensor parameters)
    {
        if (!parameters.shape.SequenceEqual(Parameters.shape))
            throw new ArgumentException($"Expected spectrum parameters shaped like this image's, [{string.Join(", ", Parameters.shape)}]; got [{string.Join(", ", parameters.shape)}].", nameof(parameters));
        using var scope = NewDisposeScope();
        var spectrum = view_as_complex(parameters * scale.to(parameters.device));
        var image = fft.irfft2(spectrum, s: [height, width], norm: FFTNormType.Ortho);
        if (Decorrelated)
            image = ColorDecorrelation.ToRgb(image);
        return image.sigmoid().MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        Parameters.Dispose();
        scale.Dispose();
    }

    /// <summary>Refuses values outside [0,1], NaN and infinities.</summary>
    internal static void CheckPixels(Tensor pixels)
    {
        if (!pixels.isfinite().all().item<bool>() || pixels.min().item<float>() < 0 || pixels.max().item<float>() > 1)
            throw new ArgumentException("Expected pixels in [0,1] with no NaN or infinite values; divide 0..255 values by 255.", nameof(pixels));
    }

    static void CheckShape(long count, long channels, long height, long width)
    {
        if (count < 1 || channels < 1 || height < 2 || width < 2)
            throw new ArgumentOutOfRangeException(nameof(count),
                $"A Fourier image needs at least one image, one channel and 2 x 2 pixels; got {count} x {channels} x {height} x {width}.");
    }

    static void CheckDecay(double decay)
    {
        if (!(decay >= 0) || double.IsInfinity(decay))
            throw new ArgumentOutOfRangeException(nameof(decay), $"The decay exponent must be 0 or more (Lucid: 1); got {decay}.");
    }
}
