using System.Diagnostics;
using WhatNetworksLearn.Adversarial;
using WhatNetworksLearn.Data;
using WhatNetworksLearn.Models;
using static TorchSharp.torch;

/// <summary>
/// How a model stands up to one changed pixel on its first N correctly classified Fashion-MNIST test images (the images
/// notebook 13 attacks, in its order): every position set to black, mid-grey and white (the scan), then the one-pixel
/// attack at Su, Vargas and Sakurai's scale (population 400, up to 100 generations after the random start, F = 0.5, no
/// crossover, stopping at success), differential evolution against random search with the same budget and seed.
/// The searches run on the images the scan breaks, and on every 50th image whatever the scan says, to check the scan.
/// </summary>
static class OnePixelRun
{
    /// <summary>
    /// Images measured together. The results file is rewritten after each group, so a run stopped early keeps the images
    /// done so far, the command it records (with their number) reproduces them, and the same command run again with a
    /// larger number continues after them.
    /// </summary>
    const int Group = 20;

    /// <summary>Every 50th image (0, 50, 100, ...) is searched even when the scan cannot break it.</summary>
    const int CheckEvery = 50;

    static readonly float[] ScanValues = [0f, 0.5f, 1f];

    const string Measured = "How the first correctly classified test images stand up to one changed pixel (untargeted). The scan sets every position " +
        "to each of the scan values, one at a time. The searches are the one-pixel attack of Su, Vargas and Sakurai (2019) at their scale: " +
        "differential evolution (DE/rand/1, F = 0.5, no crossover; fitness the probability of the true class) with a population of 400 " +
        "for up to 100 generations after a random start, each image stopping after the generation that changes its prediction, and " +
        "random search, which draws every generation afresh (positions and values uniformly at random) with the same budget and seed. " +
        "They run on the images the scan breaks and on every 50th image (searched). Per image: how many of the scan's changes break it, " +
        "and the queries (candidates sent through the network) each search took to break it, null if it did not within 40,400 or was not run.";

    public static void Measure(string name, int count, string command, string machine, string output)
    {
        var options = new OnePixelOptions();   // the paper's search, seed 0
        using var model = ModelRegistry.Load(name);
        using var test = FashionMnist.Load(FashionMnist.Split.Test);
        var correct = FirstCorrect(model, test, count);
        var rows = ShippedOnePixel.ReadAll(output);
        // Continue a line measured with the same search and scan, keeping its images and its time.
        var earlier = rows.FirstOrDefault(r => r.Model == name && r.Images <= count && r.Rates.Options == options && r.ScanValues.SequenceEqual(ScanValues));
        var all = earlier?.Rates ?? new OnePixelRates(options, ScanValues, [], [], [], []);
        double secondsBefore = earlier?.Seconds ?? 0;
        var clock = Stopwatch.StartNew();
        for (int start = all.Images; start < correct.Length; start += Group)
        {
            using var scope = NewDisposeScope();
            var index = tensor(correct[start..Math.Min(start + Group, correct.Length)]);
            int first = start;
            all = all.Concat(OnePixelRates.Measure(model, test.Images[index], test.Labels[index], options, ScanValues, i => (first + i) % CheckEvery == 0));
            var row = ShippedOnePixel.From(name, $"{command} {all.Images}", all, DateTime.UtcNow, machine, Math.Round(secondsBefore + clock.Elapsed.TotalSeconds));
            rows.RemoveAll(r => r.Model == name);
            rows.Add(row);
            ShippedOnePixel.WriteAll(rows, Measured, output);
            Console.WriteLine($"{name}, first {row.Images} images: the scan broke {row.BreakingChanges.Count(c => c > 0)}, differential evolution " +
                $"{row.EvolutionSuccesses[^1]}, random search {row.RandomSuccesses[^1]} (within {options.Budget:N0} queries each, on the " +
                $"{row.Searched.Count(s => s)} images searched); {row.Seconds} s");
        }
        Console.WriteLine($"Wrote {output}.");
    }

    /// <summary>Indices of the first <paramref name="count"/> test images the model classifies correctly.</summary>
    static long[] FirstCorrect(VisionModel model, FashionMnist.LabeledImages test, int count)
    {
        var correct = new List<long>();
        for (int start = 0; start < test.Images.shape[0] && correct.Count < count; start += 1000)
        {
            using var scope = NewDisposeScope();
            long size = Math.Min(1000, test.Images.shape[0] - start);
            var right = model.Probabilities(test.Images.narrow(0, start, size)).cpu().argmax(1).eq(test.Labels.narrow(0, start, size));
            correct.AddRange(right.nonzero().flatten().data<long>().ToArray().Select(i => start + i));
        }
        if (correct.Count < count)
            throw new ArgumentOutOfRangeException(nameof(count), $"{model.Name} classifies only {correct.Count} test images correctly; ask for at most that many.");
        return correct.Take(count).ToArray();
    }
}
