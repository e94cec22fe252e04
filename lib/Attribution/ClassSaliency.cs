using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Attribution;

/// <summary>How the per-channel gradient magnitudes of a colour image become one value per pixel.</summary>
public enum ChannelReduction
{
    /// <summary>The largest |gradient| over the colour channels (Simonyan et al.).</summary>
    Max,
    /// <summary>The sum of |gradient| over the colour channels.</summary>
    Sum,
}

/// <summary>Settings of a class saliency map.</summary>
/// <param name="Reduction">How the colour channels are combined.</param>
/// <param name="Samples">0 for the plain map; n &gt; 0 for SmoothGrad: the mean of the maps of n noisy copies of the image.</param>
/// <param name="NoiseLevel">SmoothGrad's noise: the standard deviation as a fraction of the image's pixel range (max − min).</param>
/// <param name="Seed">Seeds the SmoothGrad noise, so that a map can be reproduced.</param>
/// <param name="BatchSize">Images (noisy copies included) per forward and backward pass.</param>
public sealed record SaliencyOptions(ChannelReduction Reduction = ChannelReduction.Max, int Samples = 0, float NoiseLevel = 0.15f,
    long Seed = 0, int BatchSize = 32)
{
    public void Validate()
    {
        if (Samples < 0)
            throw new ArgumentOutOfRangeException(nameof(Samples), $"The number of SmoothGrad samples must be 0 (plain map) or more; got {Samples}.");
        if (!float.IsFinite(NoiseLevel) || NoiseLevel < 0)
            throw new ArgumentOutOfRangeException(nameof(NoiseLevel), $"The noise level is a fraction of the pixel range and must be 0 or more; got {NoiseLevel}.");
        if (BatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(BatchSize), "The batch size must be at least 1.");
    }
}

/// <summary>
/// Class saliency maps (Simonyan, Vedaldi and Zisserman, 2014): the gradient of the unnormalised score of a class
/// with respect to the pixels says how much a small change of each pixel would change the score. Its absolute value,
/// reduced over the colour channels, is a map of where the evidence for the class lies, from one backward pass.
/// The score is taken before the softmax so that the other classes do not enter. SmoothGrad (Smilkov et al., 2017)
/// averages the maps of noisy copies of the image, which removes much of the speckle of single gradients.
/// </summary>
public sealed class ClassSaliency(VisionModel model, SaliencyOptions? options = null) : IAttribution
{
    public SaliencyOptions Options { get; } = options ?? new SaliencyOptions();

    /// <summary>N x H x W saliency maps, on the CPU, for the class <paramref name="targetClass"/> of each image of the batch.</summary>
    public Tensor Attribute(Tensor pixels, int targetClass)
    {
        Options.Validate();
        model.CheckClass(targetClass);
        model.CheckInput(pixels);
        using var scope = NewDisposeScope();
        var images = pixels.detach().to(model.Device);
        if (Options.Samples == 0)
            return Map(Gradients(images, targetClass)).cpu().MoveToOuterDisposeScope();

        // Every image gets Samples noisy copies, all drawn from one seeded generator before any gradient is taken.
        long n = images.shape[0];
        var generator = new Generator((ulong)Options.Seed, images.device);
        var range = images.flatten(1).amax(1) - images.flatten(1).amin(1);
        var sigma = (Options.NoiseLevel * range).reshape(n, 1, 1, 1, 1);
        var noise = randn([n, Options.Samples, .. images.shape[1..]], generator: generator, device: images.device) * sigma;
        var noisy = (images.unsqueeze(1) + noise).flatten(0, 1);
        var maps = new List<Tensor>();
        using (var progress = ProgressDisplay.Start("SmoothGrad", (int)noisy.shape[0]))
        {
            for (long start = 0; start < noisy.shape[0]; start += Options.BatchSize)
            {
                long size = Math.Min(Options.BatchSize, noisy.shape[0] - start);
                maps.Add(Map(Gradients(noisy.narrow(0, start, size), targetClass)));
                progress.Report((int)(start + size));
            }
        }
        var all = cat(maps).reshape(n, Options.Samples, images.shape[2], images.shape[3]);
        return all.mean([1]).cpu().MoveToOuterDisposeScope();
    }

    /// <summary>N x C x H x W: the gradient of the class score for each image (signed, before any reduction).</summary>
    public Tensor Gradients(Tensor pixels, int targetClass)
    {
        model.CheckClass(targetClass);
        model.CheckInput(pixels);
        using var scope = NewDisposeScope();
        using var gradients = enable_grad();   // also when called inside a no_grad block
        var input = pixels.detach().to(model.Device).requires_grad_(true);
        var score = model.Module.forward(input)[.., targetClass].sum();   // images do not interact in evaluation mode
        return autograd.grad([score], [input])[0].detach().MoveToOuterDisposeScope();
    }

    /// <summary>The saliency of a gradient (N x C x H x W): |gradient| combined over channels by <see cref="SaliencyOptions.Reduction"/>.</summary>
    public Tensor Map(Tensor gradient) => Options.Reduction switch
    {
        ChannelReduction.Max => gradient.abs().amax(1),
        ChannelReduction.Sum => gradient.abs().sum(1),
        _ => throw new ArgumentOutOfRangeException(nameof(Options), $"Unknown channel reduction {Options.Reduction}."),
    };
}
