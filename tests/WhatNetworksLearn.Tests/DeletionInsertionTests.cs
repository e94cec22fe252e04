using WhatNetworksLearn.Evaluation;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

/// <summary>Deletion and insertion curves, worked out by hand on a model that looks only at one corner.</summary>
public class DeletionInsertionTests
{
    static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    [Fact]
    public void On_the_corner_detector_the_curves_follow_the_corner_pixels_place_in_the_maps_order()
    {
        // Class 0's score is 10 × the sum of the 2 x 2 top-left corner, class 1's is 0, so P(class 0) = σ(10 · corner sum).
        // On a grey image (0.5 everywhere) the corner sums to 2: P = σ(20). One pixel per step (64 steps), black neutral.
        using var model = ToyModels.CornerDetector();
        using var image = full(1, 1, 8, 8, 0.5f);
        using var cornerFirst = zeros(1, 8, 8);
        cornerFirst[0, ..2, ..2] = tensor(1f);
        using var cornerLast = 1 - cornerFirst;
        var options = new DeletionInsertionOptions(Steps: 64, BatchSize: 20);

        // Deletion, corner first: after k corner pixels are black the sum is 0.5 (4 − k): P = σ(5 (4 − k)), then σ(0).
        using var deletion = DeletionInsertion.Deletion(model, image, cornerFirst, 0, options);
        var expected = Enumerable.Range(0, 65).Select(k => Sigmoid(5 * Math.Max(0, 4 - k))).ToArray();
        Assert.Equal(expected, deletion.Probabilities[0].data<double>().ToArray(), (a, b) => Math.Abs(a - b) < 1e-6);
        Assert.Equal(FaithfulnessCurves.Area(expected, deletion.Fractions), deletion.Areas[0], 6);
        // Corner last: nothing changes until step 60, then the same fall.
        using var late = DeletionInsertion.Deletion(model, image, cornerLast, 0, options);
        var lateExpected = Enumerable.Range(0, 65).Select(k => Sigmoid(5 * Math.Min(4, 64 - k))).ToArray();
        Assert.Equal(lateExpected, late.Probabilities[0].data<double>().ToArray(), (a, b) => Math.Abs(a - b) < 1e-6);
        Assert.True(deletion.MeanArea < 0.6 && late.MeanArea > 0.9, $"{deletion.MeanArea:F3}, {late.MeanArea:F3}");

        // Insertion, corner first, from black: σ(0) at the start, σ(5k) as the corner comes back, then σ(20).
        using var insertion = DeletionInsertion.Insertion(model, image, cornerFirst, 0, options);
        var inserted = Enumerable.Range(0, 65).Select(k => Sigmoid(5 * Math.Min(4, k))).ToArray();
        Assert.Equal(inserted, insertion.Probabilities[0].data<double>().ToArray(), (a, b) => Math.Abs(a - b) < 1e-6);
        Assert.Equal(Enumerable.Range(0, 65).Select(k => k / 64.0), insertion.Fractions);
    }

    [Fact]
    public void Curves_are_per_image_and_bad_maps_or_options_are_refused()
    {
        using var model = ToyModels.CornerDetector();
        using var images = stack([full(1, 8, 8, 0.5f), full(1, 8, 8, 0.2f)]);
        using var maps = rand(2, 8, 8, generator: new Generator(1));
        var options = new DeletionInsertionOptions(Steps: 8);
        using var both = DeletionInsertion.Deletion(model, images, maps, 0, options);
        using var second = DeletionInsertion.Deletion(model, images.narrow(0, 1, 1), maps.narrow(0, 1, 1), 0, options);
        Assert.Equal(new long[] { 2, 9 }, both.Probabilities.shape);
        Assert.True(both.Probabilities[1].allclose(second.Probabilities[0]));
        Assert.Contains("N x H x W", Assert.Throws<ArgumentException>(() => DeletionInsertion.Deletion(model, images, rand(2, 1, 8, 8), 0)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => DeletionInsertion.Insertion(model, images, maps, 0, new DeletionInsertionOptions(Steps: 0)));
    }

    [Fact]
    public void The_difference_of_two_maps_areas_comes_with_its_standard_error()
    {
        // Per-image differences 1, 2, 3: mean 2, standard deviation 1, standard error 1 / √3.
        using var a = new FaithfulnessCurves(zeros(3, 2), [0, 1], [1.5, 2.5, 3.5]);
        using var b = new FaithfulnessCurves(zeros(3, 2), [0, 1], [0.5, 0.5, 0.5]);
        var (mean, error) = a.AreaDifference(b);
        Assert.Equal(2, mean, 12);
        Assert.Equal(1 / Math.Sqrt(3), error, 12);
        Assert.Equal(-2, b.AreaDifference(a).Mean, 12);
        Assert.Throws<ArgumentException>(() => a.AreaDifference(new FaithfulnessCurves(zeros(1, 2), [0, 1], [1.0])));
    }
}
