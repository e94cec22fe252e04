using System.Text.Json;
using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Adversarial;

/// <summary>
/// One patch size of <see cref="PatchSizes.Sweep"/>: patches of side <paramref name="Side"/> trained from several seeds,
/// and a noise patch of that side, each judged on the same held-out images at the same placements.
/// </summary>
/// <param name="Side">The patch's side in pixels, at scale 1.</param>
/// <param name="ImageShare">The share of the image the patch covers at scale 1: side² / (height x width).</param>
/// <param name="Seeds">The seed of each trained patch.</param>
/// <param name="TrainedSuccess">Each trained patch's success rate on the held-out images, in the order of <paramref name="Seeds"/>.</param>
/// <param name="LastTenthSpread">
/// For each trained patch, the largest minus the smallest held-out success rate measured during the last tenth of its
/// training: near 0 when the training had settled.
/// </param>
/// <param name="NoiseSuccess">The success rate of a patch of uniform random pixels of the same side (seeded with the first seed).</param>
public sealed record PatchSizeResult(int Side, double ImageShare, int[] Seeds, double[] TrainedSuccess, double[] LastTenthSpread, double NoiseSuccess)
{
    public double MeanTrainedSuccess => TrainedSuccess.Average();
}

/// <summary>
/// data/models/patch-sizes.json: how the adversarial patch's success on held-out images grows with its size, as the
/// command it names measured it (data/models/patch-sizes). Training and judging one patch of every size takes minutes,
/// too long for notebook 14, which reads the results instead.
/// </summary>
/// <param name="Command">The command that wrote the file.</param>
/// <param name="Model">The network attacked.</param>
/// <param name="Target">The class the patches were trained towards.</param>
/// <param name="TrainingImages">How many images the patches were trained on (the first of the kit's test-set sample).</param>
/// <param name="HeldOutImages">How many other images of the sample they were judged on.</param>
/// <param name="HeldOutSeed">The seed of the held-out images' placements.</param>
/// <param name="Options">The training settings every size shares (the side and the seed are those of each row).</param>
/// <param name="Sizes">One row per side, smallest first.</param>
/// <param name="Machine">Where the command ran.</param>
/// <param name="Seconds">How long it took.</param>
public sealed record PatchSizes(string Command, string Model, string Target, int TrainingImages, int HeldOutImages, int HeldOutSeed,
    PatchSizeSettings Options, IReadOnlyList<PatchSizeResult> Sizes, string Machine, double Seconds)
{
    public static string FilePath => Path.Combine(ShippedWeights.Folder, "patch-sizes.json");

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>The shipped results (or those at <paramref name="path"/>); a clear error naming the command when the file is missing.</summary>
    public static PatchSizes Read(string? path = null)
    {
        path ??= FilePath;
        if (!File.Exists(path))
            throw new FileNotFoundException($"No patch-size results at {path}. Make them with: dotnet run -c Release --project data/models/patch-sizes", path);
        return JsonSerializer.Deserialize<PatchSizes>(File.ReadAllText(path), Json)
            ?? throw new InvalidDataException($"{path} holds no patch-size results.");
    }

    public void Write(string? path = null) => File.WriteAllText(path ?? FilePath, JsonSerializer.Serialize(this, Json) + "\n");

    /// <summary>
    /// Trains a patch of every side in <paramref name="sides"/> from every seed in <paramref name="seeds"/> (the rest of
    /// <paramref name="options"/> shared) on <paramref name="training"/> towards <paramref name="targetClass"/>, and judges
    /// each, and a noise patch of each side, on the held-out images at placements drawn with <paramref name="heldOutSeed"/>
    /// (the success rate is measured every 10 steps during training: <see cref="PatchSizeResult.LastTenthSpread"/>).
    /// <paramref name="report"/> hears a line per trained patch.
    /// </summary>
    public static IReadOnlyList<PatchSizeResult> Sweep(VisionModel model, Tensor training, Tensor heldOut, Tensor heldOutLabels, int targetClass,
        IReadOnlyList<int> sides, IReadOnlyList<int> seeds, PatchOptions options, int heldOutSeed, Action<string>? report = null)
    {
        if (sides.Count == 0 || seeds.Count == 0)
            throw new ArgumentException($"Name at least one side and one seed; got {sides.Count} sides and {seeds.Count} seeds.");
        var results = new List<PatchSizeResult>();
        foreach (int side in sides)
        {
            var success = new List<double>();
            var spread = new List<double>();
            foreach (int seed in seeds)
            {
                var attack = new AdversarialPatch(model, options with { PatchSize = side, Seed = seed });
                using var trained = attack.Train(training, targetClass, new PatchHeldOut(heldOut, heldOutLabels, Every: 10, Seed: heldOutSeed), onStep: (_, _) => { });
                var lastTenth = trained.HeldOutSuccess.Where(p => p.Step >= 0.9 * options.Steps).Select(p => p.SuccessRate).ToList();
                success.Add(trained.HeldOutSuccess[^1].SuccessRate);
                spread.Add(lastTenth.Max() - lastTenth.Min());
                report?.Invoke($"{side} x {side}, seed {seed}: {success[^1]:P1} on the held-out images (last tenth of training: spread {spread[^1]:P1})");
            }
            var noiseAttack = new AdversarialPatch(model, options with { PatchSize = side });
            using var noisePatch = noiseAttack.NoisePatch(seeds[0]);
            using var noise = noiseAttack.Evaluate(noisePatch, heldOut, heldOutLabels, targetClass, heldOutSeed);
            double share = (double)side * side / (heldOut.shape[2] * heldOut.shape[3]);
            results.Add(new(side, share, [.. seeds], [.. success], [.. spread], noise.SuccessRate));
        }
        return results;
    }
}

/// <summary>The training settings of <see cref="PatchSizes"/>, as stored in its file.</summary>
public sealed record PatchSizeSettings(int Steps, int BatchSize, double StepSize, double MinScale, double MaxScale, double MaxDegrees)
{
    public static PatchSizeSettings Of(PatchOptions options) =>
        new(options.Steps, options.BatchSize, options.StepSize, options.MinScale, options.MaxScale, options.MaxDegrees);
}
