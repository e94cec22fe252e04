using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Adversarial;

/// <summary>Settings of a robustness evaluation (see <see cref="RobustAccuracy"/>).</summary>
/// <param name="Epsilon">The L∞ budget, in pixel units of [0,1].</param>
/// <param name="PgdSteps">Steps of each PGD run, from a random start; the step size is 2.5 ε / steps (Madry et al.'s rule).</param>
/// <param name="PgdRestarts">PGD runs, each from its own random start, each on the images the runs before did not break.</param>
/// <param name="ApgdIterations">Iterations of the APGD-CE run that follows, on the images PGD did not break (0: none).</param>
/// <param name="BatchSize">Images attacked at once.</param>
/// <param name="Seed">Seed of the first random start; restart r uses Seed + r.</param>
public sealed record RobustnessOptions(double Epsilon = 0.1, int PgdSteps = 50, int PgdRestarts = 3, int ApgdIterations = 100,
    int BatchSize = 500, int Seed = 0);

/// <summary>
/// What a robustness evaluation found, counted over the images: classified correctly, then still correctly after the
/// first PGD run, after every PGD restart, and after APGD-CE as well. An image counts as robust only if no attack
/// broke it, so <see cref="Robust"/> is the worst case per image over all the attacks.
/// </summary>
public sealed record RobustnessResult(double Epsilon, int Images, int Clean, int AfterFirstPgd, int AfterPgd, int Robust)
{
    public double CleanAccuracy => (double)Clean / Images;
    /// <summary>Accuracy under the first PGD run alone.</summary>
    public double FirstPgdAccuracy => (double)AfterFirstPgd / Images;
    /// <summary>Accuracy under the PGD runs, the worst over the restarts per image.</summary>
    public double PgdAccuracy => (double)AfterPgd / Images;
    /// <summary>Accuracy under every attack, the worst per image: the robust accuracy.</summary>
    public double RobustAccuracy => (double)Robust / Images;
    /// <summary>Images APGD-CE broke after every PGD run had failed: many of them would mean gradient masking.</summary>
    public int BrokenOnlyByApgd => AfterPgd - Robust;
}

/// <summary>
/// One line of data/models/robustness.json: a shipped network's accuracy under attack on the test images, as the
/// command it names measured it (data/models/evaluate).
/// </summary>
public sealed record ShippedRobustness(string Model, string Command, int Images, double Epsilon, double CleanAccuracy,
    double FirstPgdAccuracy, double PgdAccuracy, double RobustAccuracy, int BrokenOnlyByApgd, double Seconds)
{
    public static string FilePath => Path.Combine(ShippedWeights.Folder, "robustness.json");

    static readonly System.Text.Json.JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.CamelCase,
    };

    /// <summary>Every line of the results file (none when it does not exist yet).</summary>
    public static List<ShippedRobustness> ReadAll(string? path = null)
    {
        path ??= FilePath;
        if (!File.Exists(path))
            return [];
        using var document = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path));
        return System.Text.Json.JsonSerializer.Deserialize<List<ShippedRobustness>>(document.RootElement.GetProperty("results"), Json) ?? [];
    }

    /// <summary>Writes the results file: how the attacks were run, where, and one line per model.</summary>
    public static void WriteAll(IEnumerable<ShippedRobustness> rows, string attacks, string machine, string? path = null) =>
        File.WriteAllText(path ?? FilePath, System.Text.Json.JsonSerializer.Serialize(
            new { attacks, machine, results = rows.OrderBy(r => r.Model) }, Json) + "\n");
}

/// <summary>
/// Robust accuracy measured the honest way: several attacks, each on the images the ones before left standing, an
/// image robust only if all of them fail (in the spirit of Croce and Hein's AutoAttack, with PGD restarts first).
/// </summary>
public static class RobustAccuracy
{
    public static RobustnessResult Evaluate(VisionModel model, Tensor pixels, Tensor labels, RobustnessOptions? options = null)
    {
        options ??= new RobustnessOptions();
        AttackSteps.CheckPixelAmount(options.Epsilon, nameof(options.Epsilon), "Epsilon");
        if (options.PgdRestarts < 1 || options.PgdSteps < 1 || options.ApgdIterations < 0 || options.BatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(options), $"Needs at least one PGD run of at least one step, APGD iterations ≥ 0 and a batch of at least one image; got {options}.");
        AttackSteps.Check(model, pixels, labels, null);
        int images = (int)pixels.shape[0], clean = 0, afterFirst = 0, afterPgd = 0, robust = 0;
        for (long start = 0; start < images; start += options.BatchSize)
        {
            using var scope = NewDisposeScope();
            long size = Math.Min(options.BatchSize, images - start);
            var x = pixels.narrow(0, start, size);
            var y = labels.narrow(0, start, size).to(ScalarType.Int64);
            var standing = model.Predict(x).Select((p, i) => (p.Class, i)).Where(p => p.Class == y[p.i].item<long>()).Select(p => (long)p.i).ToArray();
            clean += standing.Length;
            for (int r = 0; r < options.PgdRestarts; r++)
            {
                var pgd = new Pgd(model, new PgdOptions(options.Epsilon, 2.5 * options.Epsilon / options.PgdSteps, options.PgdSteps, RandomStart: true, Seed: options.Seed + r));
                standing = Survivors(pgd, x, y, standing);
                if (r == 0) afterFirst += standing.Length;
            }
            afterPgd += standing.Length;
            if (options.ApgdIterations > 0)
                standing = Survivors(new Apgd(model, new ApgdOptions(options.Epsilon, options.ApgdIterations, options.Seed)), x, y, standing);
            robust += standing.Length;
        }
        return new RobustnessResult(options.Epsilon, images, clean, afterFirst, afterPgd, robust);
    }

    /// <summary>The images among <paramref name="standing"/> (indices into the batch) that the attack leaves correctly classified.</summary>
    static long[] Survivors(IAttack attack, Tensor images, Tensor labels, long[] standing)
    {
        if (standing.Length == 0)
            return standing;
        using var scope = NewDisposeScope();
        var index = tensor(standing);
        using var result = attack.Run(images.index_select(0, index), labels.index_select(0, index));
        var broken = result.Success.data<bool>().ToArray();
        return standing.Where((_, i) => !broken[i]).ToArray();
    }
}
