using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using TorchSharp;
using static TorchSharp.torch;
using Xunit;

namespace WhatNetworksLearn.Tests;

public class ExpectationTests
{
    [Fact]
    public void A_real_model_gets_a_verdict_and_a_stand_in_gets_none()
    {
        using var real = ToyModels.CornerDetector();
        Assert.False(real.HasStandInWeights);

        var holds = Expectation.Check(real, "the map lies on the garment", true, "62 % of it on the garment");
        Assert.Equal(NoteKind.Information, holds.Kind);
        Assert.StartsWith("As the lecture expects: the map lies on the garment (62 % of it on the garment)", holds.Text);

        var differs = Expectation.Check(real, "the map lies on the garment", false, "30 % of it on the garment");
        Assert.Equal(NoteKind.Warning, differs.Kind);
        Assert.StartsWith("Not as the lecture expects: it says the map lies on the garment, but here 30 % of it on the garment.", differs.Text);

        // The stand-in's numbers are reported but never judged, whichever way they fall.
        using var toy = ToyModels.CornerDetector();
        using var standIn = new VisionModel(toy.Name, "STAND-IN", nn.Sequential(("flatten", nn.Flatten()), ("linear", nn.Linear(64, 2))),
            toy.Input, toy.ClassNames, null) { HasStandInWeights = true };
        foreach (var outcome in new[] { true, false })
        {
            var note = Expectation.Check(standIn, "the map lies on the garment", outcome, "50 %");
            Assert.StartsWith("Lecture check not judged: corner-detector has stand-in random weights", note.Text);
            Assert.DoesNotContain("As the lecture expects", note.Text);
            Assert.Contains("(measured: 50 %)", note.Text);
        }
    }
}
