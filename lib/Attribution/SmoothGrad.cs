using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Attribution;

/// <summary>Settings of SmoothGrad.</summary>
/// <param name="Samples">Noisy copies of each image whose attributions are averaged.</param>
/// <param name="NoiseLevel">The noise's standard deviation as a fraction of each image's pixel range (max − min).</param>
/// <param name="Seed">Seeds the noise, so that a result can be reproduced.</param>
/// <param name="BatchSize">Noisy copies per call of the wrapped method.</param>
/// <param name="Magnitudes">
/// False (Smilkov et al.'s SmoothGrad): the mean of the signed attributions, in which evidence for and against can cancel.
/// True: the mean of their magnitudes, that is the mean of the saliency maps of the copies, what notebooks 07 and 08 show.
/// </param>
public sealed record SmoothGradOptions(int Samples = 32, float NoiseLevel = 0.15f, int Seed = 0, int BatchSize = 32, bool Magnitudes = false)
{
    public void Validate()
    {
        if (Samples < 1)
            throw new ArgumentOutOfRangeException(nameof(Samples), $"The number of SmoothGrad samples (noisy copies per image) must be at least 1; got {Samples}.");
        if (!float.IsFinite(NoiseLevel) || NoiseLevel < 0)
            throw new ArgumentOutOfRangeException(nameof(NoiseLevel), $"The noise level is a fraction of the pixel range and must be 0 or more; got {NoiseLevel}.");
        if (BatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(BatchSize), $"The batch size must be at least 1; got {BatchSize}.");
    }
}

/// <summary>
/// SmoothGrad (Smilkov et al., 2017) around any attribution method, as Captum's noise tunnel: the mean of the
/// method's attributions of noisy copies of each image. A single gradient is speckled because the network's response
/// is locally very wiggly; the average over a small neighbourhood of the image keeps what is stable. Notebook 07.
/// </summary>
public sealed class SmoothGrad(IAttribution method, SmoothGradOptions? options = null) : IAttribution
{
    public SmoothGradOptions Options { get; } = options ?? new SmoothGradOptions();

    /// <summary>The method whose attributions are averaged.</summary>
    public IAttribution Method { get; } = method;

    public VisionModel Model => Method.Model;

    /// <summary>
    /// N x C x H x W on the CPU: for each image, the mean attribution of <see cref="SmoothGradOptions.Samples"/> copies with
    /// Gaussian noise, drawn from one seeded generator before the method runs; each copy explains its image's target. Every
    /// image gets the same draws (scaled to its own range), so its map does not depend on the other images of its batch.
    /// </summary>
    public Tensor Attribute(Tensor pixels, Targets targets)
    {
        Options.Validate();
        Model.CheckInput(pixels);
        targets.CheckCount(pixels.shape[0]);
        using var scope = NewDisposeScope();
        var images = pixels.detach().to(Model.Device);
        long n = images.shape[0];
        int samples = Options.Samples;
        using var generator = new Generator((ulong)Options.Seed, images.device);
        var flat = images.flatten(1);
        var sigma = (Options.NoiseLevel * (flat.amax(1) - flat.amin(1))).reshape(n, 1, 1, 1, 1);
        var noise = randn([1, samples, .. images.shape[1..]], generator: generator, device: images.device) * sigma;
        var noisy = (images.unsqueeze(1) + noise).flatten(0, 1);
        var copyTargets = targets.RepeatEach(samples);
        var parts = new List<Tensor>();
        // The noisy copies leave [0,1], as in the paper; the images' own range was checked above.
        using (PixelRange.AllowOutOfRange())
        using (var progress = ProgressDisplay.Start("SmoothGrad", (int)noisy.shape[0]))
        {
            for (long start = 0; start < noisy.shape[0]; start += Options.BatchSize)
            {
                long size = Math.Min(Options.BatchSize, noisy.shape[0] - start);
                var attributions = Method.Attribute(noisy.narrow(0, start, size), copyTargets.Slice(start, size));
                parts.Add(Options.Magnitudes ? attributions.abs() : attributions);
                progress.Report((int)(start + size));
            }
        }
        return cat(parts).reshape([n, samples, .. images.shape[1..]]).mean([1]).MoveToOuterDisposeScope();
    }
}
