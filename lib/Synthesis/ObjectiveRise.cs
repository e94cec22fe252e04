namespace WhatNetworksLearn.Synthesis;

/// <summary>
/// Whether an optimisation did what it was for, read from the objective's history: its value at the first step (the
/// start), the mean over the last quarter of the steps (the end; a mean, because random transforms make single steps
/// noisy) and whether the end is clearly above the start. An image whose objective did not rise shows its start, not
/// what the objective asks for: a unit behind a ReLU that is silent on the start everywhere has no gradient at all.
/// </summary>
/// <param name="Start">The objective at the first step.</param>
/// <param name="End">The mean of the objective over the last quarter of the steps (at least the last one).</param>
/// <param name="Rose">Whether <paramref name="End"/> exceeds <paramref name="Start"/> by more than the smallest gain asked for.</param>
public sealed record ObjectiveRise(double Start, double End, bool Rose)
{
    /// <summary>
    /// The rise of <paramref name="history"/> (one value per step, at least one). It counts as risen when the end
    /// exceeds the start by more than <paramref name="minimumGain"/> and by more than <paramref name="relativeGain"/>
    /// of the start's size: a flat history, or one that only wobbles about its start, has not risen.
    /// </summary>
    public static ObjectiveRise Of(IReadOnlyList<double> history, double minimumGain = 0.01, double relativeGain = 0.1)
    {
        if (history.Count == 0)
            throw new ArgumentException("The history is empty: no step was taken, so nothing can have risen.", nameof(history));
        if (!(minimumGain >= 0) || !(relativeGain >= 0))
            throw new ArgumentOutOfRangeException(nameof(minimumGain), $"The gains asked for must be 0 or more; got {minimumGain} and {relativeGain}.");
        double start = history[0];
        int last = Math.Max(1, history.Count / 4);
        double end = history.Skip(history.Count - last).Average();
        return new ObjectiveRise(start, end, end - start > Math.Max(minimumGain, relativeGain * Math.Abs(start)));
    }

    /// <summary>
    /// The rise of each image's objective in <paramref name="result"/> (its <see cref="SynthesisResult.ObjectivePerImage"/>),
    /// in the order of the images.
    /// </summary>
    public static IReadOnlyList<ObjectiveRise> PerImage(SynthesisResult result)
    {
        if (result.ObjectivePerImage.Count == 0)
            throw new ArgumentException("The result holds no per-image history: it took no steps.", nameof(result));
        int images = result.ObjectivePerImage[0].Length;
        return Enumerable.Range(0, images).Select(i => Of(result.ObjectivePerImage.Select(step => step[i]).ToList())).ToList();
    }
}
