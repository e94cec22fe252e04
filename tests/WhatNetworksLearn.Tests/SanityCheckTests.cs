using TorchSharp;
using WhatNetworksLearn.Attribution;
using WhatNetworksLearn.Data;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Rendering;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

public sealed class SanityCheckTests : IDisposable
{
    readonly VisionModel model = FashionCnn.Load(CPU);
    readonly FashionMnist.LabeledImages sample = FashionMnist.LoadSample(4);
    static readonly string[] Stages = ["fc2", "fc1", "conv3", "conv2", "conv1"];

    /// <summary>Every parameter and buffer of the model, copied.</summary>
    List<(string Name, Tensor Value)> State() =>
        model.Module.named_parameters().Select(p => (p.name, p.parameter.detach().clone()))
            .Concat(model.Module.named_buffers().Select(b => (b.name, b.buffer.detach().clone()))).ToList();

    void AssertUnchanged(List<(string Name, Tensor Value)> before)
    {
        var after = State();
        Assert.Equal(before.Select(b => b.Name), after.Select(a => a.Name));
        for (int i = 0; i < before.Count; i++)
            Assert.True(SynthesisTests.Identical(before[i].Value, after[i].Value), $"{before[i].Name} changed");
        foreach (var (_, value) in before.Concat(after))
            value.Dispose();
    }

    /// <summary>An "explanation" that ignores the model: the image itself.</summary>
    sealed class TheImage(VisionModel model) : IAttribution
    {
        public VisionModel Model => model;
        public Tensor Attribute(Tensor pixels, Targets targets) => pixels.detach().cpu().clone();
    }

    /// <summary>The plain gradient until the model has been randomised a given number of times, then an error.</summary>
    sealed class FailsLater(VisionModel model, int calls) : IAttribution
    {
        int left = calls;
        public VisionModel Model => model;
        public Tensor Attribute(Tensor pixels, Targets targets) =>
            left-- > 0 ? new UnitGradient(model, ReluBackward.Backprop).Attribute(pixels, targets) : throw new InvalidOperationException("fails on purpose");
    }

    [Fact]
    public void Cascading_randomisation_gives_the_model_back_unchanged_also_after_an_error()
    {
        var before = State();
        using var predictionsBefore = model.Forward(sample.Images);
        using (CascadingRandomization.Run(model, [("gradient", new UnitGradient(model, ReluBackward.Backprop))], sample.Images, 0, Stages)) { }
        AssertUnchanged(before);
        before = State();
        Assert.Throws<InvalidOperationException>(() => CascadingRandomization.Run(model, [("fails", new FailsLater(model, 3))], sample.Images, 0, Stages));
        AssertUnchanged(before);
        using var predictionsAfter = model.Forward(sample.Images);
        Assert.True(SynthesisTests.Identical(predictionsBefore, predictionsAfter));
    }

    [Fact]
    public void Randomised_layers_are_seeded_per_layer_and_keep_the_scale_of_their_weights()
    {
        using var scope = NewDisposeScope();
        var trained = ((TorchSharp.Modules.Linear)model.Layer("fc1")).weight!.detach().clone();
        Tensor Fc1Now() => ((TorchSharp.Modules.Linear)model.Layer("fc1")).weight!.detach().clone();
        Tensor alone, withAnother, otherSeed;
        using (RandomizedLayers.Apply(model, ["fc1"], seed: 7))
            alone = Fc1Now();
        using (RandomizedLayers.Apply(model, ["fc2", "fc1"], seed: 7))
            withAnother = Fc1Now();
        using (RandomizedLayers.Apply(model, ["fc1"], seed: 8))
            otherSeed = Fc1Now();
        Assert.True(SynthesisTests.Identical(alone, withAnother), "a layer gets the same random values whichever layers are randomised with it");
        Assert.False(SynthesisTests.Identical(alone, otherSeed));
        Assert.False(SynthesisTests.Identical(alone, trained));
        Assert.True(SynthesisTests.Identical(Fc1Now(), trained));
        Assert.Equal(trained.std().item<float>(), alone.std().item<float>(), 0.01 * trained.std().item<float>());
        Assert.Equal(trained.mean().item<float>(), alone.mean().item<float>(), 0.01 * trained.std().item<float>());
    }

    [Fact]
    public void An_explanation_that_ignores_the_model_passes_nothing_and_the_gradient_changes()
    {
        using var result = CascadingRandomization.Run(model,
            [("image", new TheImage(model)), ("gradient", new UnitGradient(model, ReluBackward.Backprop))], sample.Images, Targets.FromLabels(sample.Labels), Stages, seed: 1);
        Assert.Equal(new long[] { 2, Stages.Length + 1, 4, 28, 28 }, result.Maps.shape);
        Assert.Equal(new long[] { 2, Stages.Length + 1, 4 }, result.Correlations.shape);
        for (int s = 0; s <= Stages.Length; s++)
            Assert.Equal(1.0, result.MeanCorrelation("image", s), 6);
        Assert.Equal(1.0, result.MeanCorrelation("gradient", 0), 6);
        Assert.True(result.MeanCorrelation("gradient", Stages.Length) < 0.5, $"the gradient of a random network keeps {result.MeanCorrelation("gradient", Stages.Length):F2} of its order");
        // Seeded: the same run gives the same maps.
        using var again = CascadingRandomization.Run(model,
            [("image", new TheImage(model)), ("gradient", new UnitGradient(model, ReluBackward.Backprop))], sample.Images, Targets.FromLabels(sample.Labels), Stages, seed: 1);
        Assert.True(SynthesisTests.Identical(result.Maps, again.Maps));
    }

    /// <summary>An "explanation" that is 0 everywhere.</summary>
    sealed class Nothing(VisionModel model) : IAttribution
    {
        public VisionModel Model => model;
        public Tensor Attribute(Tensor pixels, Targets targets) => zeros_like(pixels).cpu();
    }

    [Fact]
    public void Maps_that_are_0_everywhere_are_counted_and_correlate_0()
    {
        using var result = CascadingRandomization.Run(model,
            [("nothing", new Nothing(model)), ("image", new TheImage(model))], sample.Images, 0, ["fc2", "conv1"]);
        for (int s = 0; s <= 2; s++)
        {
            Assert.Equal(4, result.EmptyMaps(0, s));
            Assert.Equal(0, result.EmptyMaps(1, s));
            Assert.Equal(0.0, result.MeanCorrelation("nothing", s));
        }
        Assert.NotEmpty(SanityCheckFigures.Maps(result, 0, "maps that are 0 everywhere can be drawn").Png);
    }

    [Fact]
    public void Rank_correlation_is_spearmans_with_ties_sharing_their_mean_rank()
    {
        using var scope = NewDisposeScope();
        // Ranks 0, 1.5, 1.5, 3 against 0, 2, 1, 3: Σ d_a d_b = 4.5, Σ d_a² = 4.5, Σ d_b² = 5, ρ = 4.5 / √22.5 (scipy: 0.9486833).
        var a = tensor(new float[,] { { 1, 2, 2, 3 } });
        var b = tensor(new float[,] { { 1, 3, 2, 4 } });
        Assert.Equal(4.5 / Math.Sqrt(22.5), Attributions.RankCorrelation(a, b).item<float>(), 6);
        // Only the order counts: any increasing function of a map correlates 1 with it, a decreasing one −1.
        var map = rand(3, 5, 5, generator: new Generator(9));
        Assert.True(Attributions.RankCorrelation(map, map.pow(3) + map.exp()).allclose(ones(3)));
        Assert.True(Attributions.RankCorrelation(map, -map).allclose(-ones(3)));
        // A constant map has no order.
        Assert.Equal(0f, Attributions.RankCorrelation(zeros(1, 4), a).item<float>());
        Assert.Equal(0f, Attributions.RankCorrelation(zeros(1, 4), zeros(1, 4)).item<float>());
    }

    [Fact]
    public void Rank_correlation_leaves_out_the_pixels_where_both_maps_are_zero()
    {
        using var scope = NewDisposeScope();
        // Pixels 0 and 1 are 0 in both maps and are left out. On pixels 2 to 5, a = 1, 2, 0, 3 has ranks 1, 2, 0, 3 and
        // b = 2, 1, 0.5, 3 has ranks 2, 1, 0, 3; centred (mean 1.5): −0.5, 0.5, −1.5, 1.5 and 0.5, −0.5, −1.5, 1.5.
        // Σ d_a d_b = −0.25 − 0.25 + 2.25 + 2.25 = 4, Σ d_a² = Σ d_b² = 5: ρ = 0.8 (scipy.stats.spearmanr on the four pixels).
        // Over all six pixels the two shared zeros would add agreeing ranks: ρ = 14.5 / √(15.5 · 17) = 0.893 by hand (ranks 1, 1, 3, 4, 1, 5 and
        // 0.5, 0.5, 4, 3, 2, 5), which is what ties inflate.
        var a = tensor(new float[,] { { 0, 0, 1, 2, 0, 3 } });
        var b = tensor(new float[,] { { 0, 0, 2, 1, 0.5f, 3 } });
        Assert.Equal(0.8, Attributions.RankCorrelation(a, b).item<float>(), 6);
        // The same pixels in another order, and each row on its own pixels: a batch of two rows with different supports.
        var both = Attributions.RankCorrelation(stack([a[0], tensor(new float[] { 1, 2, 3, 0, 0, 0 })]), stack([b[0], tensor(new float[] { 3, 2, 1, 0, 0, 0 })]));
        Assert.Equal(0.8, both[0].item<float>(), 6);
        Assert.Equal(-1.0, both[1].item<float>(), 6);
    }

    [Fact]
    public void The_edge_detector_is_sobel_by_hand_and_ignores_the_model()
    {
        using var scope = NewDisposeScope();
        // A bright pixel at (10, 10) on black: the Sobel derivatives around it are the kernel's weights.
        var dot = zeros(1, 1, 28, 28);
        dot[0, 0, 10, 10] = tensor(1f);
        var map = new EdgeDetector(model).Attribute(dot, 0);
        Assert.Equal(new long[] { 1, 1, 28, 28 }, map.shape);
        Assert.Equal(0f, map[0, 0, 10, 10].item<float>());                      // the centre of the kernels weighs 0
        Assert.Equal(2f, map[0, 0, 10, 9].item<float>(), 6);                    // beside it: gx = 2, gy = 0
        Assert.Equal(2f, map[0, 0, 11, 10].item<float>(), 6);                   // below it: gx = 0, gy = 2
        Assert.Equal(MathF.Sqrt(2), map[0, 0, 9, 9].item<float>(), 6);          // diagonal: gx = gy = 1
        Assert.Equal(8L, map.gt(0).sum().item<long>());                         // only the 8 neighbours
        // A vertical step from 0 to 1 between columns 13 and 14: gx = 1 + 2 + 1 on both sides of it, also on the
        // border rows (replicated), and 0 elsewhere.
        var step = zeros(1, 1, 28, 28);
        step[.., .., .., TensorIndex.Slice(14)] = tensor(1f);
        var edges = new EdgeDetector(model).Attribute(step, Targets.PerImage([3]));
        var expected = zeros(1, 1, 28, 28);
        expected[.., .., .., TensorIndex.Slice(13, 15)] = tensor(4f);
        Assert.True(edges.allclose(expected));
        // It never runs the model: randomising every layer changes nothing.
        using (RandomizedLayers.Apply(model, Stages))
            Assert.True(SynthesisTests.Identical(edges, new EdgeDetector(model).Attribute(step, 0)));
    }

    [Fact]
    public void Methods_of_another_model_object_and_layers_without_weights_are_refused()
    {
        using var other = FashionCnn.Load(CPU);
        var foreign = Assert.Throws<ArgumentException>(() =>
            CascadingRandomization.Run(model, [("gradient", new UnitGradient(other, ReluBackward.Backprop))], sample.Images, 0, Stages));
        Assert.Contains("another model object", foreign.Message);
        var noWeights = Assert.Throws<ArgumentException>(() =>
            CascadingRandomization.Run(model, [("gradient", new UnitGradient(model, ReluBackward.Backprop))], sample.Images, 0, ["fc2", "relu3"]));
        Assert.Contains("no weights", noWeights.Message);
        var unknown = Assert.Throws<ArgumentException>(() =>
            CascadingRandomization.Run(model, [("gradient", new UnitGradient(model, ReluBackward.Backprop))], sample.Images, 0, ["fc9"]));
        Assert.Contains("Valid names", unknown.Message);
    }

    [Fact]
    public void The_cascade_exercise_puts_back_weights_a_student_left_random()
    {
        var before = State();
        // Right numbers, but the randomisation is never disposed: the model would stay random for the rest of the notebook.
        Tensor LeavesItRandom(VisionModel m, IAttribution method, Tensor images, Targets targets, string[] stages)
        {
            using var scope = NewDisposeScope();
            var trained = Attributions.PerPixel(method.Attribute(images, targets));
            var rows = new List<Tensor> { Attributions.RankCorrelation(trained, trained) };
            for (int s = 1; s <= stages.Length; s++)
            {
                var random = RandomizedLayers.Apply(m, stages.Take(s).ToArray(), seed: 0);
                rows.Add(Attributions.RankCorrelation(Attributions.PerPixel(method.Attribute(images, targets)), trained));
                if (s < stages.Length)
                    random.Dispose();
            }
            return stack(rows.ToArray()).MoveToOuterDisposeScope();
        }
        var result = WhatNetworksLearn.Exercises.SanityCheckExercises.Cascade(LeavesItRandom, model, sample.Images);
        Assert.Equal(WhatNetworksLearn.Notebook.ExerciseStatus.NotYet, result.Status);
        Assert.Contains("still had random weights", result.Message);
        AssertUnchanged(before);
    }

    public void Dispose()
    {
        model.Dispose();
        sample.Images.Dispose();
        sample.Labels.Dispose();
    }
}
