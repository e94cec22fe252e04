using System.Text.Json;
using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Adversarial;

/// <summary>
/// How a network stands up to one changed pixel, image by image: the <see cref="OnePixel.Scan"/> of every position at a
/// few values (how many of those changes break the image), and the queries differential evolution and random search,
/// with the same budget and seed, took to break it (null: not broken within the budget, or not searched).
/// </summary>
/// <param name="Options">The searches' settings (both searches use them, each with its own <see cref="OnePixelOptions.Search"/>).</param>
/// <param name="ScanValues">The values the scan sets each position to.</param>
/// <param name="BreakingChanges">Per image, how many of the scan's H x W x V one-pixel changes change the answer.</param>
/// <param name="Searched">Per image, whether the two searches ran on it.</param>
/// <param name="Evolution">Per image, the queries differential evolution took to break it.</param>
/// <param name="Random">Per image, the queries random search took to break it.</param>
public sealed record OnePixelRates(OnePixelOptions Options, IReadOnlyList<float> ScanValues, IReadOnlyList<int> BreakingChanges,
    IReadOnlyList<bool> Searched, IReadOnlyList<int?> Evolution, IReadOnlyList<int?> Random)
{
    /// <summary>
    /// Scans each image (N x C x H x W in [0,1], with its true label) at <paramref name="scanValues"/>, then runs
    /// differential evolution and random search with <paramref name="options"/> (whatever its <see cref="OnePixelOptions.Search"/>)
    /// on the images the scan broke, and on those <paramref name="alsoSearch"/> picks by their index among the images.
    /// An image that resists costs each search its whole budget; where no change of the scan breaks an image, a search
    /// could only succeed with a value between the scan's, so searching such images anyway checks the shortcut.
    /// </summary>
    public static OnePixelRates Measure(VisionModel model, Tensor images, Tensor labels, OnePixelOptions options, IReadOnlyList<float> scanValues,
        Func<int, bool>? alsoSearch = null)
    {
        options.Validate(images.shape[^2], images.shape[^1]);   // before the scan's work
        using var scope = NewDisposeScope();
        int n = (int)images.shape[0];
        var breaking = new OnePixel(model, options).Scan(images, labels, scanValues);
        var searched = Enumerable.Range(0, n).Select(i => breaking[i] > 0 || alsoSearch?.Invoke(i) == true).ToArray();
        var evolution = new int?[n];
        var random = new int?[n];
        var chosen = Enumerable.Range(0, n).Where(i => searched[i]).Select(i => (long)i).ToArray();
        if (chosen.Length > 0)
        {
            var index = tensor(chosen);
            foreach (var (search, queries) in new[] { (OnePixelSearch.Evolution, evolution), (OnePixelSearch.Random, random) })
            {
                using var result = new OnePixel(model, options with { Search = search }).Attack(images.index_select(0, index), labels.index_select(0, index));
                for (int j = 0; j < chosen.Length; j++)
                    queries[chosen[j]] = result.QueriesToSuccess[j];
            }
        }
        return new(options, scanValues, breaking, searched, evolution, random);
    }

    public int Images => BreakingChanges.Count;

    /// <summary>The budgets at which a search can stop, in queries per image: after the random start and after each generation.</summary>
    public int[] Budgets => Enumerable.Range(1, Options.Iterations + 1).Select(g => g * Options.Population).ToArray();

    /// <summary>These images followed by <paramref name="next"/>'s, measured with the same options on further images.</summary>
    public OnePixelRates Concat(OnePixelRates next) => Options == next.Options && ScanValues.SequenceEqual(next.ScanValues)
        ? this with
        {
            BreakingChanges = [.. BreakingChanges, .. next.BreakingChanges], Searched = [.. Searched, .. next.Searched],
            Evolution = [.. Evolution, .. next.Evolution], Random = [.. Random, .. next.Random],
        }
        : throw new ArgumentException($"Only rates measured with the same search and scan can be joined; got {Options} at [{string.Join(", ", ScanValues)}] " +
            $"and {next.Options} at [{string.Join(", ", next.ScanValues)}].", nameof(next));
}

/// <summary>
/// One line of data/models/one-pixel.json: <see cref="OnePixelRates"/> of a shipped network on its first correctly
/// classified test images, as the command it names measured it (data/models/evaluate), with the search's settings, the
/// date (UTC) its last group of images was measured, the machine and the time it took. <see cref="EvolutionSuccesses"/>[b]
/// and <see cref="RandomSuccesses"/>[b] count the images broken within <see cref="Budgets"/>[b] queries per image;
/// every image's scan and queries are kept as well.
/// </summary>
public sealed record ShippedOnePixel(string Model, string Command, int Seed, int Images, int Pixels, int Population, int Iterations,
    float MutationFactor, float? CrossoverRate, float[] ScanValues, int[] Budgets, int[] EvolutionSuccesses, int[] RandomSuccesses,
    int[] BreakingChanges, bool[] Searched, int?[] EvolutionQueries, int?[] RandomQueries, string Date, string Machine, double Seconds)
{
    public static string FilePath => Path.Combine(ShippedWeights.Folder, "one-pixel.json");

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public static ShippedOnePixel From(string model, string command, OnePixelRates rates, DateTime date, string machine, double seconds)
    {
        var budgets = rates.Budgets;
        var options = rates.Options;
        return new(model, command, options.Seed, rates.Images, options.Pixels, options.Population, options.Iterations, options.MutationFactor,
            options.CrossoverRate, [.. rates.ScanValues], budgets, OnePixel.SuccessesWithin(rates.Evolution, budgets),
            OnePixel.SuccessesWithin(rates.Random, budgets), [.. rates.BreakingChanges], [.. rates.Searched], [.. rates.Evolution], [.. rates.Random],
            date.ToUniversalTime().ToString("yyyy-MM-dd HH:mm 'UTC'", System.Globalization.CultureInfo.InvariantCulture), machine, seconds);
    }

    /// <summary>The per-image results again, to continue the line on further images.</summary>
    public OnePixelRates Rates => new(new OnePixelOptions(Pixels, Population, Iterations, MutationFactor, CrossoverRate, Seed), ScanValues,
        BreakingChanges, Searched, EvolutionQueries, RandomQueries);

    /// <summary>Every line of the results file (none when it does not exist yet).</summary>
    public static List<ShippedOnePixel> ReadAll(string? path = null)
    {
        path ??= FilePath;
        if (!File.Exists(path))
            return [];
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        return document.RootElement.GetProperty("results").Deserialize<List<ShippedOnePixel>>(Json) ?? [];
    }

    /// <summary>Writes the results file: what was measured and one line per model.</summary>
    public static void WriteAll(IEnumerable<ShippedOnePixel> rows, string attack, string? path = null) =>
        File.WriteAllText(path ?? FilePath, JsonSerializer.Serialize(new { attack, results = rows.OrderBy(r => r.Model) }, Json) + "\n");
}
