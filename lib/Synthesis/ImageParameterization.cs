using static TorchSharp.torch;

namespace WhatNetworksLearn.Synthesis;

/// <summary>
/// How the optimised images are described by numbers: the <see cref="Parameters"/> the loop changes, and a
/// differentiable function <see cref="Render"/> from parameters to images (N x C x H x W) for the model. Plain pixels
/// are the simplest choice; others (a frequency basis, decorrelated colours) plug into the same loop, and so does an
/// adversarial patch, whose pixels are pasted into photos by a transform.
/// </summary>
public interface IImageParameterization : IDisposable
{
    /// <summary>The tensor the loop optimises, in place; regularisers act on it between steps.</summary>
    Tensor Parameters { get; }

    /// <summary>
    /// The images that <paramref name="parameters"/> (shaped like <see cref="Parameters"/>) stand for, differentiable with
    /// respect to them: the loop renders a copy of <see cref="Parameters"/> that autograd watches.
    /// </summary>
    Tensor Render(Tensor parameters);
}

/// <summary>The images are their own parameters: every pixel is a free number.</summary>
public sealed class PixelImage : IImageParameterization
{
    /// <summary>Starts from a copy of <paramref name="start"/> (N x C x H x W; for a patch, 1 x C x P x P), on <paramref name="device"/> if given.</summary>
    public PixelImage(Tensor start, Device? device = null)
    {
        if (start.dim() != 4)
            throw new ArgumentException($"Expected a batch of images N x C x H x W; got [{string.Join(", ", start.shape)}].", nameof(start));
        using var noGrad = no_grad();   // a copy outside any autograd graph the start may belong to
        Parameters = start.to(ScalarType.Float32, device ?? start.device, copy: true).DetachFromDisposeScope();
    }

    /// <summary>A batch of <paramref name="count"/> images of the given shape, every pixel set to <paramref name="value"/>.</summary>
    public static PixelImage Constant(int count, int channels, int height, int width, double value, Device? device = null)
    {
        using var start = full(count, channels, height, width, value, ScalarType.Float32, device);
        return new PixelImage(start);
    }

    public Tensor Parameters { get; }

    public Tensor Render(Tensor parameters) => parameters;

    public void Dispose() => Parameters.Dispose();
}
