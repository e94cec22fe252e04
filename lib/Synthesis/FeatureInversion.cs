using TorchSharp;
using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Synthesis;

/// <summary>Settings of feature inversion.</summary>
/// <param name="Steps">Adam steps on the pixels.</param>
/// <param name="StepSize">The learning rate of <see cref="Adam"/>: about the largest change of a pixel per step.</param>
/// <param name="TvWeight">λ of the total-variation prior λ·TV(x) (0: no prior).</param>
/// <param name="TvExponent">β of the prior: each pixel adds (dx² + dy²)^(β/2). 2 (Mahendran and Vedaldi's choice) penalises
/// every edge smoothly; 1 is the classical total variation, which tolerates sharp edges but not noise.</param>
/// <param name="Start">The grey every reconstruction starts from (before the noise).</param>
/// <param name="Noise">Half-width of the uniform noise added to the start, drawn from <paramref name="Seed"/>.</param>
/// <param name="Seed">Seeds the starting noise.</param>
/// <param name="Basis">What Adam changes: the spectrum with decorrelated colours of <see cref="FourierImage"/> (the default:
/// on the ResNet-18 trunk it gets much closer to deep layers' features in a few dozen steps than pixel steps do; it starts
/// from its own faint noise and its sigmoid keeps pixels in (0,1)), or the pixels themselves, started at
/// <paramref name="Start"/> ± <paramref name="Noise"/> and clamped to [0,1] after each step.</param>
public sealed record InversionOptions(int Steps = 30, double StepSize = 0.05, double TvWeight = 10, double TvExponent = 2,
    double Start = 0.5, double Noise = 0.05, int Seed = 0, ImageBasis Basis = ImageBasis.Fourier)
{
    public void Validate()
    {
        if (Steps < 0)
            throw new ArgumentOutOfRangeException(nameof(Steps), $"The number of steps must be 0 or more; got {Steps}.");
        if (!(StepSize > 0) || double.IsInfinity(StepSize))
            throw new ArgumentOutOfRangeException(nameof(StepSize), $"The step size must be positive (e.g. 0.05); got {StepSize}.");
        if (!(TvWeight >= 0) || double.IsInfinity(TvWeight))
            throw new ArgumentOutOfRangeException(nameof(TvWeight), $"The weight of the total-variation prior must be 0 or more; got {TvWeight}.");
        if (!(TvExponent >= 1) || double.IsInfinity(TvExponent))
            throw new ArgumentOutOfRangeException(nameof(TvExponent), $"The exponent β of the total variation must be at least 1 (1 or 2 are usual); got {TvExponent}.");
        if (Start is < 0 or > 1)
            throw new ArgumentOutOfRangeException(nameof(Start), $"The start is a pixel value in [0,1]; got {Start}.");
        if (!(Noise >= 0 && Noise <= 0.5))
            throw new ArgumentOutOfRangeException(nameof(Noise), $"The starting noise is a pixel amount in [0, 0.5]; got {Noise}.");
    }
}

/// <summary>What feature inversion reached, one row per reconstruction.</summary>
/// <param name="Images">The reconstructions, N x C x H x W on the CPU, in [0,1].</param>
/// <param name="Layers">The layer whose features reconstruction i matches.</param>
/// <param name="FeatureDistance">‖Φ(x) − Φ(x₀)‖² / ‖Φ(x₀)‖² at the end, per reconstruction (0: the features match exactly; 1: as far as all-zero features).</param>
/// <param name="PixelCorrelation">Pearson correlation of each reconstruction's pixel values with the photo's (1: the same picture up to brightness and contrast).</param>
/// <param name="Objective">The objective (mean over the reconstructions) at each step.</param>
public sealed record InversionResult(Tensor Images, IReadOnlyList<string> Layers, IReadOnlyList<double> FeatureDistance,
    IReadOnlyList<double> PixelCorrelation, IReadOnlyList<double> Objective) : IDisposable
{
    public void Dispose() => Images.Dispose();
}

/// <summary>
/// Feature inversion (Mahendran and Vedaldi, 2015, "Understanding deep image representations by inverting them"):
/// given the features Φ(x₀) a layer computes for a photo, find an image x whose features at that layer are the same,
/// min over x of ‖Φ(x) − Φ(x₀)‖² / ‖Φ(x₀)‖² + λ·TV(x), with x kept in [0,1]. What the reconstruction keeps of the photo is
/// what the layer keeps; what comes out different is what the layer threw away. The prior (total variation, a
/// penalty on the differences between neighbouring pixels) prefers smooth images among the many with the same
/// features, and the [0,1] box is the norm bound. The optimisation is the shared <see cref="InputOptimizer"/> loop with
/// <see cref="Adam"/> steps (in the basis <see cref="InversionOptions.Basis"/> names); several layers are inverted
/// together, one image per layer, as one batch.
/// </summary>
public static class FeatureInversion
{
    /// <summary>
    /// Reconstructs <paramref name="photo"/> (1 x C x H x W, or C x H x W, pixels in [0,1] at the model's size) once from
    /// the features of each of <paramref name="layers"/>: image i matches layer i. All reconstructions start from the same
    /// noisy grey and run as one batch; the result says how close each came in features and in pixels.
    /// </summary>
    public static InversionResult Reconstruct(VisionModel model, Tensor photo, IReadOnlyList<string> layers, InversionOptions? options = null)
    {
        options ??= new InversionOptions();
        options.Validate();
        if (layers.Count == 0)
            throw new ArgumentException("Name at least one layer to invert.", nameof(layers));
        using var scope = NewDisposeScope();
        var target = OnePhoto(model, photo);
        var matching = Match(model, target, layers);
        var objective = options.TvWeight > 0 ? -matching - options.TvWeight * TotalVariation(options.TvExponent) : -matching;
        var input = model.Input;
        using var random = new Generator((ulong)options.Seed);
        using IImageParameterization image = options.Basis == ImageBasis.Fourier
            ? FourierImage.Random(layers.Count, input.Channels, input.Height, input.Width, options.Seed, device: model.Device)
            : new PixelImage((options.Start + (rand(layers.Count, input.Channels, input.Height, input.Width, generator: random) * 2 - 1) * options.Noise).clamp(0, 1), model.Device);
        var loop = new OptimizationOptions(options.Steps, options.Seed)
        {
            StepRule = new Adam(options.StepSize),
            Regularizers = options.Basis == ImageBasis.Fourier ? [] : [new Clamp()],
            Label = $"Inverting {string.Join(", ", layers)}",
        };
        using var result = InputOptimizer.Run(model, image, objective, loop);
        var distance = InputOptimizer.Evaluate(model, matching, result.Images);
        var correlation = Correlation(result.Images, target.cpu().expand_as(result.Images));
        return new InversionResult(result.Images.clone().MoveToOuterDisposeScope(), layers.ToList(), Doubles(distance), Doubles(correlation), result.Objective);
    }

    /// <summary>
    /// The relative feature distance ‖Φᵢ(x) − Φᵢ(x₀)‖² / ‖Φᵢ(x₀)‖² of image i to <paramref name="photo"/> at layer i of
    /// <paramref name="layers"/> (one layer per image of the batch it is evaluated on). To maximise, subtract it. The
    /// photo's features are computed once, here, into the caller's dispose scope: use the objective inside that scope.
    /// </summary>
    public static Objective Match(VisionModel model, Tensor photo, IReadOnlyList<string> layers)
    {
        var target = OnePhoto(model, photo);
        var wanted = layers.Distinct().ToList();
        // The targets belong to the caller's dispose scope: use the objective inside it.
        var features = model.Activations(target, [.. wanted]);
        var targets = wanted.ToDictionary(name => name, name => features[name].flatten(1).clone());
        foreach (var output in features.Values)
            output.Dispose();
        return new Objective($"relative distance to the photo's features at {string.Join(", ", layers)}", context =>
        {
            long count = context.Image.shape[0];
            if (count != layers.Count)
                throw new ArgumentException($"Invert {layers.Count} images, one per layer ({string.Join(", ", layers)}); got {count}.");
            var rows = layers.Select((name, i) =>
            {
                var reached = context.Layer(name)[i].flatten();
                var goal = targets[name][0];
                return (reached - goal).square().sum() / goal.square().sum().clamp_min(1e-12);
            });
            return stack(rows.ToArray());
        }, wanted);
    }

    /// <summary>
    /// The total-variation prior of each image (N x C x H x W): the mean over channels and pixels of
    /// ((x[i, j+1] − x[i, j])² + (x[i+1, j] − x[i, j])²)^(β/2), a neighbour beyond the last row or column counting as equal
    /// to the pixel (difference 0). A mean, not a sum, so that one weight suits every image size. For β &lt; 2 a tiny constant (1e-8) inside keeps the gradient finite on flat areas.
    /// </summary>
    public static Tensor TotalVariationOf(Tensor images, double exponent = 2)
    {
        if (images.dim() != 4 || images.shape[2] < 2 || images.shape[3] < 2)
            throw new ArgumentException($"Expected a batch of images N x C x H x W, at least 2 x 2 pixels; got [{string.Join(", ", images.shape)}].", nameof(images));
        if (!(exponent >= 1) || double.IsInfinity(exponent))
            throw new ArgumentOutOfRangeException(nameof(exponent), $"The exponent β of the total variation must be at least 1; got {exponent}.");
        using var scope = NewDisposeScope();
        // The last row and column repeated: their missing neighbour differs by 0, and every pixel is in some difference.
        var padded = nn.functional.pad(images, [0, 1, 0, 1], PaddingModes.Replicate);
        var right = padded[.., .., ..^1, 1..] - images;
        var down = padded[.., .., 1.., ..^1] - images;
        var squared = right.square() + down.square();
        var perPixel = exponent == 2 ? squared : (squared + 1e-8).pow(exponent / 2);
        return perPixel.flatten(1).mean([1]).MoveToOuterDisposeScope();
    }

    /// <summary>The total-variation prior as an objective (one value per image): subtract it, weighted, to prefer smooth images.</summary>
    public static Objective TotalVariation(double exponent = 2)
    {
        if (!(exponent >= 1) || double.IsInfinity(exponent))
            throw new ArgumentOutOfRangeException(nameof(exponent), $"The exponent β of the total variation must be at least 1; got {exponent}.");
        return new($"total variation (β = {exponent:G3})", context => TotalVariationOf(context.Image, exponent));
    }

    /// <summary>The Pearson correlation of each image's values (N x ...) with the matching image of <paramref name="b"/> (same shape), on the CPU.</summary>
    public static Tensor Correlation(Tensor a, Tensor b)
    {
        if (!a.shape.SequenceEqual(b.shape) || a.dim() < 2)
            throw new ArgumentException($"Correlate batches of the same shape; got [{string.Join(", ", a.shape)}] and [{string.Join(", ", b.shape)}].");
        using var scope = NewDisposeScope();
        var x = a.flatten(1).to(ScalarType.Float64, CPU);
        var y = b.flatten(1).to(ScalarType.Float64, CPU);
        x = x - x.mean([1], keepdim: true);
        y = y - y.mean([1], keepdim: true);
        var r = (x * y).sum(1) / ((x.square().sum(1) * y.square().sum(1)).sqrt() + 1e-12);
        return r.to(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    static Tensor OnePhoto(VisionModel model, Tensor photo)
    {
        var batch = photo.dim() == 3 ? photo.unsqueeze(0) : photo;
        model.CheckInput(batch);   // shape, size, NaN: the model's own words
        if (batch.shape[0] != 1)
            throw new ArgumentException($"Invert one photo (1 x C x H x W or C x H x W); got {batch.shape[0]} images.", nameof(photo));
        using (NewDisposeScope())   // the check's temporaries (it reads float32 values; numpy-made photos are often float64)
            FourierImage.CheckPixels(batch.to(ScalarType.Float32));
        return batch.detach().to(ScalarType.Float32, model.Device);
    }

    static double[] Doubles(Tensor values) => values.to(ScalarType.Float64, CPU).data<double>().ToArray();
}
