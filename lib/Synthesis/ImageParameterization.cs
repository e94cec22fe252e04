using static TorchSharp.torch;

namespace WhatNetworksLearn.Synthesis;

/// <summary>
/// How the optimised images are described by numbers. Gradient ascent changes <see cref="Parameters"/>;
/// <see cref="Render"/> turns them into images (N x C x H x W) for the model. Plain pixels are the simplest choice;
/// others (a patch pasted into photos, a frequency basis) plug into the same loop.
/// </summary>
public interface IImageParameterization : IDisposable
{
    /// <summary>The tensor the loop optimises (it requires gradients); regularisers act on it between steps.</summary>
    Tensor Parameters { get; }

    /// <summary>The images the parameters stand for, differentiable with respect to <see cref="Parameters"/>.</summary>
    Tensor Render();
}

/// <summary>The images are their own parameters: every pixel is a free number.</summary>
public sealed class PixelImage : IImageParameterization
{
    /// <summary>Starts from a copy of <paramref name="start"/> (N x C x H x W), on <paramref name="device"/> if given.</summary>
    public PixelImage(Tensor start, Device? device = null)
    {
        if (start.dim() != 4)
            throw new ArgumentException($"Expected a batch of images N x C x H x W; got [{string.Join(", ", start.shape)}].", nameof(start));
        using var noGrad = no_grad();
        Parameters = start.to(ScalarType.Float32, device ?? start.device, copy: true).requires_grad_(true).DetachFromDisposeScope();
    }

    /// <summary>A batch of <paramref name="count"/> images of the given shape, every pixel set to <paramref name="value"/>.</summary>
    public static PixelImage Constant(int count, int channels, int height, int width, double value, Device? device = null)
    {
        using var start = full(count, channels, height, width, value, ScalarType.Float32, device);
        return new PixelImage(start);
    }

    public Tensor Parameters { get; }

    public Tensor Render() => Parameters;

    public void Dispose() => Parameters.Dispose();
}
