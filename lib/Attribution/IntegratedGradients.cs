using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using WhatNetworksLearn.Synthesis;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Attribution;

/// <summary>The image Integrated Gradients starts from: the "absence of evidence" every attribution is measured against.</summary>
public enum IntegrationBaseline
{
    /// <summary>All pixels 0. A pixel that is already black gets no attribution at all, whatever the network does with it.</summary>
    Black,
    /// <summary>The image blurred by a Gaussian: keeps the colours and the rough layout, removes edges and fine detail.</summary>
    Blurred,
    /// <summary>
    /// Uniform noise in [0,1], seeded: a baseline that no pixel value is special to. One noise image for every image of
    /// the batch, so an image's attributions do not depend on the other images it is explained with.
    /// </summary>
    UniformNoise,
}

/// <summary>Settings of Integrated Gradients.</summary>
/// <param name="Steps">Points on the straight path from the baseline to the image at which the gradient is taken (the Riemann sum's terms).</param>
/// <param name="Baseline">Where the path starts.</param>
/// <param name="BlurFraction">For <see cref="IntegrationBaseline.Blurred"/>: the blur's standard deviation as a fraction of the image's shorter side (0.1: 2.8 pixels on 28 x 28, 22 on 224 x 224).</param>
/// <param name="Seed">Seeds <see cref="IntegrationBaseline.UniformNoise"/>, so that a result can be reproduced.</param>
/// <param name="BatchSize">Path points sent through the network per forward and backward pass.</param>
public sealed record IntegratedGradientsOptions(int Steps = 64, IntegrationBaseline Baseline = IntegrationBaseline.Black, double BlurFraction = 0.1,
    int Seed = 0, int BatchSize = 64)
{
    public void Validate()
    {
        if (Steps < 1)
            throw new ArgumentOutOfRangeException(nameof(Steps), $"Integrated Gradients needs at least 1 step along the path; got {Steps}.");
        if (BatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(BatchSize), $"The batch size (path points per pass) must be at least 1; got {BatchSize}.");
        if (!double.IsFinite(BlurFraction) || BlurFraction < 0)
            throw new ArgumentOutOfRangeException(nameof(BlurFraction), $"The blur is a fraction of the image's side and must be 0 or more; got {BlurFraction}.");
        if (!Enum.IsDefined(Baseline))
            throw new ArgumentOutOfRangeException(nameof(Baseline), $"Unknown baseline {Baseline}; use Black, Blurred or UniformNoise.");
    }
}

/// <summary>What Integrated Gradients found for a batch, all on the CPU.</summary>
/// <param name="Attributions">N x C x H x W, signed: each pixel value's share of the change of the score from the baseline to the image.</param>
/// <param name="Baselines">N x C x H x W: the images the paths started from.</param>
/// <param name="Scores">N: the target class score of each image, f(x).</param>
/// <param name="BaselineScores">N: the same score at the baseline, f(x′).</param>
public sealed record IntegratedGradientsResult(Tensor Attributions, Tensor Baselines, Tensor Scores, Tensor BaselineScores) : IDisposable
{
    /// <summary>
    /// Completeness, per image: |Σ attributions − (f(x) − f(x′))| / |f(x) − f(x′)|. The exact integral makes it 0; the
    /// Riemann sum leaves an error that shrinks as the steps grow.
    /// </summary>
    public double[] CompletenessErrors()
    {
        using var scope = NewDisposeScope();
        var change = (Scores - BaselineScores).to_type(ScalarType.Float64);
        var error = (Attributions.to_type(ScalarType.Float64).sum([1, 2, 3]) - change).abs() / change.abs().clamp_min(1e-12);
        return error.data<double>().ToArray();
    }

    public void Dispose()
    {
        Attributions.Dispose();
        Baselines.Dispose();
        Scores.Dispose();
        BaselineScores.Dispose();
    }
}

/// <summary>
/// Integrated Gradients (Sundararajan, Taly and Yan, 2017): the gradient of the class score averaged along the
/// straight path from a baseline x′ to the image x, times x − x′. A single gradient only says what happens for tiny
/// changes, and a saturated network (a confident prediction) has almost none left; summing the gradient along the
/// whole path accounts for the entire change of the score, so the attributions add up to f(x) − f(x′)
/// (completeness). The integral is a midpoint Riemann sum of <see cref="IntegratedGradientsOptions.Steps"/> terms;
/// the path points go through the network in batches. Notebook 17.
/// </summary>
public sealed class IntegratedGradients(VisionModel model, IntegratedGradientsOptions? options = null) : IAttribution
{
    public IntegratedGradientsOptions Options { get; } = options ?? new IntegratedGradientsOptions();

    public VisionModel Model => model;

    /// <summary>N x C x H x W on the CPU: the attributions of <see cref="Explain"/>.</summary>
    public Tensor Attribute(Tensor pixels, Targets targets)
    {
        using var result = Explain(pixels, targets);
        return result.Attributions.alias();
    }

    /// <summary>The baselines the paths of <paramref name="pixels"/> start from (N x C x H x W, on the pixels' device).</summary>
    public Tensor Baselines(Tensor pixels)
    {
        Options.Validate();
        model.CheckInput(pixels);
        using var scope = NewDisposeScope();
        var images = pixels.detach();
        var baselines = Options.Baseline switch
        {
            IntegrationBaseline.Black => zeros_like(images),
            IntegrationBaseline.Blurred => ImageFilters.GaussianBlur(images, Options.BlurFraction * Math.Min(images.shape[2], images.shape[3])),
            IntegrationBaseline.UniformNoise => rand([1, .. images.shape[1..]], images.dtype, generator: new Generator((ulong)Options.Seed)).to(images.device).expand_as(images),
            var other => throw new ArgumentOutOfRangeException(nameof(Options), $"Unknown baseline {other}."),
        };
        return baselines.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Attributions of each image's target class score (the logit), with the baselines and the scores at both ends of
    /// the path, from which completeness can be checked.
    /// </summary>
    public IntegratedGradientsResult Explain(Tensor pixels, Targets targets)
    {
        Options.Validate();
        model.CheckInput(pixels);
        targets.CheckClasses(model, pixels.shape[0]);
        using var scope = NewDisposeScope();
        var images = pixels.detach().to(model.Device);
        var baselines = Baselines(images);
        var difference = images - baselines;
        long n = images.shape[0];
        int steps = Options.Steps;
        long points = n * steps;
        // Point i of the flat list is image i / steps at α = (i % steps + ½) / steps: the midpoints of equal slices of the path.
        var alphas = (arange(steps, images.dtype, model.Device) + 0.5) / steps;
        var gradientSum = zeros_like(images);
        var pointTargets = targets.RepeatEach(steps);
        using (var progress = ProgressDisplay.Start("Integrated Gradients", (int)Math.Min(points, int.MaxValue)))
        {
            for (long start = 0; start < points; start += Options.BatchSize)
            {
                using var batchScope = NewDisposeScope();
                long size = Math.Min(Options.BatchSize, points - start);
                var index = arange(start, start + size, ScalarType.Int64, model.Device);
                var image = index.div(steps, rounding_mode: RoundingMode.floor);
                var alpha = alphas.index_select(0, index.remainder(steps)).reshape(-1, 1, 1, 1);
                var path = baselines.index_select(0, image) + alpha * difference.index_select(0, image);
                var chunkTargets = pointTargets.Slice(start, size);
                var gradient = InputGradient.Of(model, path, input => chunkTargets.Pick(model.Module.forward(input)));
                gradientSum.index_add_(0, image, gradient, 1);
                progress.Report((int)Math.Min(start + size, int.MaxValue));
            }
        }
        var attributions = difference * gradientSum / steps;
        using var noGrad = no_grad();
        var scores = targets.Pick(model.Module.forward(images));
        var baselineScores = targets.Pick(model.Module.forward(baselines));
        return new IntegratedGradientsResult(attributions.cpu().MoveToOuterDisposeScope(), baselines.cpu().MoveToOuterDisposeScope(),
            scores.cpu().MoveToOuterDisposeScope(), baselineScores.cpu().MoveToOuterDisposeScope());
    }
}
