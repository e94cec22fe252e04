using WhatNetworksLearn.Models;

namespace WhatNetworksLearn.Notebook;

/// <summary>
/// What the lecture says a figure shows, checked on the figure's own numbers and said under it. The ImageNet figures
/// are drawn where nobody who wrote them could see them with the real weights, so each one judges itself: "as the
/// lecture expects", or what differs. On the tests' stand-in weights the verdict would mean nothing, and says so.
/// </summary>
public static class Expectation
{
    /// <summary>
    /// The verdict on <paramref name="claim"/> (what the lecture expects, as a clause: "the largest drop lies on the cat"),
    /// which the notebook measured on <paramref name="model"/> as <paramref name="measured"/> and found to hold or not.
    /// </summary>
    public static Note Check(VisionModel model, string claim, bool holds, string measured) =>
        model.HasStandInWeights
            ? new Note($"Lecture check not judged: {model.Name} has stand-in random weights, so whether {claim} means nothing here (measured: {measured}).")
            : holds
                ? new Note($"As the lecture expects: {claim} ({measured}).")
                : new Note($"Not as the lecture expects: it says {claim}, but here {measured}. Look at the figure: the network, the photo or the kit may differ from the lecture's.", NoteKind.Warning);
}
