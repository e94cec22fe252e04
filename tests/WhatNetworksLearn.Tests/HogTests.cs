using System.Runtime.InteropServices;
using OpenCvSharp;
using Size = OpenCvSharp.Size;
using WhatNetworksLearn.Adversarial;
using WhatNetworksLearn.Classical;
using WhatNetworksLearn.Data;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

public class HogTests
{
    /// <summary>OpenCV's descriptor of one image (1 x C x H x W in [0,1], C = 1 or 3), on its bytes, with our settings.</summary>
    static float[] OpenCvHog(Tensor image, HogOptions options)
    {
        int channels = (int)image.shape[1], height = (int)image.shape[2], width = (int)image.shape[3];
        using var bytes = image[0].permute(1, 2, 0).mul(255).round().to(ScalarType.Byte).contiguous();
        using var mat = new Mat(height, width, channels == 1 ? MatType.CV_8UC1 : MatType.CV_8UC3);
        var data = bytes.data<byte>().ToArray();
        Marshal.Copy(data, 0, mat.Data, data.Length);
        int cell = options.CellSize, block = options.BlockCells * cell, stride = options.BlockStride * cell;
        using var descriptor = new HOGDescriptor(new Size(width, height), new Size(block, block), new Size(stride, stride), new Size(cell, cell),
            options.Bins, 1, -1, HistogramNormType.L2Hys, options.ClipThreshold, false, 64);
        return descriptor.Compute(mat, new Size(cell, cell), new Size(0, 0));
    }

    /// <summary>Images as OpenCV sees them: rounded to bytes, back in [0,1].</summary>
    static Tensor Quantized(Tensor images) => images.mul(255).round().div(255);

    public static TheoryData<string, int, int, int> OpenCvCases => new()
    {
        { "fashion", 4, 2, 1 },
        { "fashion", 7, 2, 1 },
        { "camera", 8, 2, 1 },
        { "camera", 8, 2, 2 },
        { "chelsea", 8, 2, 1 },
        { "astronaut", 6, 3, 1 },
    };

    [Theory]
    [MemberData(nameof(OpenCvCases))]
    public void Descriptor_matches_opencv(string source, int cellSize, int blockCells, int blockStride)
    {
        var options = new HogOptions(CellSize: cellSize, BlockCells: blockCells, BlockStride: blockStride);
        using var images = Quantized(TestImages(source));
        var hog = new Hog(options);
        using var ours = hog.forward(images);
        for (int i = 0; i < images.shape[0]; i++)
        {
            using var reference = tensor(OpenCvHog(images[i..(i + 1)], options));
            Assert.Equal(reference.shape[0], ours.shape[1]);
            // OpenCV finds angles with a fast polynomial atan (off by about 0.01°), which moves up to 0.1% of a pixel's vote
            // to the neighbouring bin; everything else (gradients, trilinear weights, Gaussian window, L2-Hys) is the same.
            using var difference = (ours[i] - reference).abs();
            Assert.True(difference.max().item<float>() < 1.5e-3f, $"{source} image {i}: largest difference from OpenCV {difference.max().item<float>()}");
            Assert.True(difference.mean().item<float>() < 5e-5f, $"{source} image {i}: mean difference from OpenCV {difference.mean().item<float>()}");
        }
    }

    static Tensor TestImages(string source) => source switch
    {
        "fashion" => FashionMnist.LoadSample(limit: 6).Images,
        // Crops whose sides are multiples of every cell size used above.
        "camera" => ImageFiles.Load(Kit.DataPath("images", "camera.png"))[.., 100..228, 200..264].unsqueeze(0).contiguous(),
        "chelsea" => ImageFiles.Load(Kit.DataPath("images", "chelsea.png"))[.., 50..114, 100..196].unsqueeze(0).contiguous(),
        _ => ImageFiles.Load(Kit.DataPath("images", source + ".png"))[.., 30..102, 150..210].unsqueeze(0).contiguous(),
    };

    [Fact]
    public void A_horizontal_edge_votes_only_for_the_90_degree_bin()
    {
        using var image = zeros(1, 1, 8, 8);
        image[0, 0, 4.., ..] = ones(4, 8);
        var hog = new Hog(new HogOptions(CellSize: 4));
        using var votes = hog.OrientationVotes(image);   // 1 x 9 x 8 x 8; bin 4 is centred on 90°
        using var expected = zeros(1, 9, 8, 8);
        expected[0, 4, 3..5, ..] = ones(2, 8);   // rows 3 and 4 see a difference of 1 across the edge
        Assert.True(votes.allclose(expected, atol: 1e-6));
    }

    [Fact]
    public void A_vertical_edge_splits_its_votes_between_the_bins_either_side_of_0_degrees()
    {
        // Bins are centred on 10°, 30°, …, 170°: a horizontal gradient (0°) lies halfway between bins 0 and 8.
        using var image = zeros(1, 1, 8, 12);
        image[0, 0, .., 4..] = ones(8, 8);
        var options = new HogOptions(CellSize: 4, BlockCells: 1, Norm: BlockNorm.L2, SpatialInterpolation: false, GaussianWindow: false, NormEpsilon: 1e-9);
        var hog = new Hog(options);
        using var cells = hog.CellHistograms(image);   // 1 x 2 x 3 x 9
        using var expected = zeros(1, 2, 3, 9);
        foreach (int x in new[] { 0, 1 })   // column 3 (cell 0) and column 4 (cell 1) lie on the edge: 4 rows x 1 x ½
        {
            expected[0, .., x, 0] = full(2, 2f);
            expected[0, .., x, 8] = full(2, 2f);
        }
        Assert.True(cells.allclose(expected, atol: 1e-6));
        // One-cell blocks with L2: each edge cell becomes (1/√2, 1/√2); blocks run column by column, the third column is empty.
        using var descriptor = hog.forward(image).reshape(3, 2, 9);
        using var expectedDescriptor = zeros(3, 2, 9);
        expectedDescriptor[..2, .., 0] = full(2, 2, (float)Math.Sqrt(0.5));
        expectedDescriptor[..2, .., 8] = full(2, 2, (float)Math.Sqrt(0.5));
        Assert.True(descriptor.allclose(expectedDescriptor, atol: 1e-6));
    }

    [Fact]
    public void A_45_degree_ramp_shares_its_votes_three_to_one()
    {
        // Gradient (1, 1)·0.1: 45° sits at 1.75 bin widths from bin 0's centre, so bin 2 gets ¾ and bin 1 ¼ of √2·0.1.
        using var ramp = (arange(8).reshape(1, 8) + arange(8).reshape(8, 1)).to(ScalarType.Float32).mul(0.05f).reshape(1, 1, 8, 8);
        using var votes = new Hog(new HogOptions(CellSize: 4)).OrientationVotes(ramp);
        var magnitude = (float)(0.1 * Math.Sqrt(2));
        Assert.True(votes[0, 2, 1..^1, 1..^1].allclose(full(6, 6, 0.75f * magnitude), atol: 1e-6));
        Assert.True(votes[0, 1, 1..^1, 1..^1].allclose(full(6, 6, 0.25f * magnitude), atol: 1e-6));
        Assert.Equal(0f, votes[0, 3.., 1..^1, 1..^1].abs().max().item<float>());
    }

    [Fact]
    public void Colour_images_use_the_channel_with_the_strongest_gradient()
    {
        using var weak = rand(1, 1, 16, 16, generator: new Generator(2)) * 0.1;
        using var strong = rand(1, 1, 16, 16, generator: new Generator(3));
        using var colour = cat([weak, strong, weak * 0.5], 1);
        var hog = new Hog(new HogOptions(CellSize: 4));
        // Not exactly equal everywhere (the weak channel may win a pixel where the strong one is flat), so compare with the strong channel's own max.
        var (colourMagnitude, _) = Hog.Gradients(colour);
        var magnitudes = new[] { weak, strong, weak * 0.5 }.Select(c => Hog.Gradients(c).Magnitude).ToArray();
        using var strongest = stack(magnitudes, 0).max(0).values;
        Assert.True(colourMagnitude.allclose(strongest, atol: 1e-6));
        Assert.Equal(hog.DescriptorLength(16, 16), hog.forward(colour).shape[1]);
    }

    [Theory]
    [InlineData(1, BlockNorm.L2Hys)]
    [InlineData(3, BlockNorm.L2Hys)]
    [InlineData(1, BlockNorm.L2)]
    public void The_gradient_matches_finite_differences(int channels, BlockNorm norm)
    {
        var hog = new Hog(new HogOptions(CellSize: 4, Norm: norm));
        using var image = rand(1, channels, 12, 12, dtype: ScalarType.Float64, generator: new Generator(5));
        using var weights = randn(hog.DescriptorLength(12, 12), dtype: ScalarType.Float64, generator: new Generator(6));
        Func<Tensor, Tensor> objective = x => (hog.forward(x) * weights).sum();
        var input = image.clone().requires_grad_(true);
        var gradient = autograd.grad([objective(input)], [input])[0];
        const double h = 1e-6;
        var flat = image.flatten();
        var numeric = zeros_like(flat);
        using (no_grad())
            for (int i = 0; i < flat.shape[0]; i++)
            {
                var up = flat.clone(); up[i] += h;
                var down = flat.clone(); down[i] -= h;
                numeric[i] = (objective(up.reshape(image.shape)) - objective(down.reshape(image.shape))) / (2 * h);
            }
        var error = (gradient.flatten() - numeric).abs().max().item<double>();
        var scale = numeric.abs().max().item<double>();
        Assert.True(error < 1e-5 * Math.Max(1, scale), $"largest gradient error {error} (gradient scale {scale})");
        Assert.True(scale > 0);
    }

    [Fact]
    public void Flat_regions_give_zero_votes_and_finite_gradients()
    {
        var hog = new Hog(new HogOptions(CellSize: 4));
        using var image = zeros(1, 1, 8, 8);
        image[0, 0, 2..6, 2..6] = full(4, 4, 0.5f);
        var input = image.clone().requires_grad_(true);
        var gradient = autograd.grad([hog.forward(input).sum()], [input])[0];
        Assert.True(gradient.isfinite().all().item<bool>());
        using var blank = hog.forward(zeros(1, 1, 8, 8));
        Assert.Equal(0f, blank.abs().max().item<float>());
    }

    [Fact]
    public void Batched_and_one_by_one_give_the_same_descriptors()
    {
        using var sample = FashionMnist.LoadSample(limit: 5);
        var hog = new Hog(HogClassifier.FashionMnistHog);
        using var batched = hog.forward(sample.Images);
        using var single = cat(Enumerable.Range(0, 5).Select(i => hog.forward(sample.Images[i..(i + 1)])).ToArray(), 0);
        Assert.True(batched.allclose(single, atol: 1e-6));
        using var cellsBatched = hog.CellHistograms(sample.Images);
        using var cellsSingle = hog.CellHistograms(sample.Images[3..4]);
        Assert.True(cellsBatched[3..4].allclose(cellsSingle, atol: 1e-6));
    }

    [Fact]
    public void Cell_histograms_hold_all_the_gradient_magnitude()
    {
        using var sample = FashionMnist.LoadSample(limit: 3);
        var hog = new Hog(HogClassifier.FashionMnistHog);
        using var cells = hog.CellHistograms(sample.Images);
        Assert.Equal(new long[] { 3, 7, 7, 9 }, cells.shape);
        var (magnitude, _) = Hog.Gradients(sample.Images);
        Assert.True(cells.sum([1, 2, 3]).allclose(magnitude.sum([1, 2]), rtol: 1e-4));
    }

    [Fact]
    public void L2_Hys_clips_the_normalised_block_at_the_threshold_and_normalises_again()
    {
        // (3, 4) normalised is (0.6, 0.8); clipped at 0.2 it is (0.2, 0.2), of length √0.08, normalised again 0.2 / (√0.08 + 0.001).
        var hog = new Hog(new HogOptions(NormEpsilon: 0));
        using var block = tensor(new float[] { 3, 4 }).reshape(1, 2);
        using var hys = hog.Normalize(block);
        Assert.True(hys.allclose(full(1, 2, (float)(0.2 / (Math.Sqrt(0.08) + 1e-3))), atol: 1e-6), hys.ToString(TorchSharp.TensorStringStyle.Julia));
        using var l2 = new Hog(new HogOptions(Norm: BlockNorm.L2, NormEpsilon: 0)).Normalize(block);
        Assert.True(l2.allclose(tensor(new float[] { 0.6f, 0.8f }).reshape(1, 2), atol: 1e-6));
    }

    [Fact]
    public void A_glyph_draws_the_edge_perpendicular_to_the_gradient()
    {
        // Only bin 4 (gradient at 90°, pointing down): the edge, and so the line, is horizontal through the cell's centre.
        using var histogram = zeros(1, 1, 9);
        histogram[0, 0, 4] = tensor(2f);
        using var glyph = HogGlyphs.Render(histogram, cellPixels: 9);
        Assert.Equal(new long[] { 1, 9, 9 }, glyph.shape);
        Assert.True(glyph[0, 4, 1..8].allclose(ones(7)));
        Assert.True(glyph[0, ..4].abs().max().item<float>() < 1e-5f);   // cos 90° is not exactly 0 in float
        Assert.True(glyph[0, 5..].abs().max().item<float>() < 1e-5f);
        // A shared scale twice the bin halves the brightness; an empty cell stays black.
        using var dim = HogGlyphs.Render(histogram, cellPixels: 9, scale: 4);
        Assert.True(dim[0, 4, 1..8].allclose(full(7, 0.5f)));
        using var twoCells = HogGlyphs.Render(cat([histogram, zeros(1, 1, 9)], 1), cellPixels: 9);
        Assert.Equal(0f, twoCells[0, .., 9..].abs().max().item<float>());
        Assert.Throws<ArgumentException>(() => HogGlyphs.Render(zeros(2, 1, 1, 9)));
        Assert.Throws<ArgumentOutOfRangeException>(() => HogGlyphs.Render(histogram, cellPixels: 2));
        // Three pixels wide: the rows just above and below the centre row are full too, the next ones stay dark.
        using var wide = HogGlyphs.Render(histogram, cellPixels: 9, lineWidth: 3);
        Assert.True(wide[0, 3..6, 1..8].allclose(ones(3, 7)));
        Assert.True(wide[0, ..3].abs().max().item<float>() < 1e-5f && wide[0, 6..].abs().max().item<float>() < 1e-5f);
        Assert.Throws<ArgumentOutOfRangeException>(() => HogGlyphs.Render(histogram, cellPixels: 9, lineWidth: 9));
    }

    [Fact]
    public void Bad_inputs_are_clear_errors()
    {
        var hog = new Hog();
        var small = Assert.Throws<ArgumentException>(() => hog.forward(zeros(1, 1, 12, 12)));
        Assert.Contains("smaller than one HOG block", small.Message);
        var notDividing = Assert.Throws<ArgumentException>(() => new Hog(new HogOptions(CellSize: 5)).forward(zeros(1, 1, 28, 28)));
        Assert.Contains("does not divide", notDividing.Message);
        var notTiling = Assert.Throws<ArgumentException>(() => new Hog(new HogOptions(CellSize: 4, BlockStride: 2)).forward(zeros(1, 1, 28, 28)));
        Assert.Contains("do not tile", notTiling.Message);
        Assert.Throws<ArgumentException>(() => hog.forward(zeros(1, 16, 16)));
        Assert.Throws<ArgumentException>(() => hog.forward(zeros(1, 1, 16, 16, dtype: ScalarType.Byte)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Hog(new HogOptions(Bins: 1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Hog(new HogOptions(CellSize: 0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Hog(new HogOptions(BlockCells: 2, BlockStride: 3)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Hog(new HogOptions(NormEpsilon: double.NaN)));
    }
}

/// <summary>One HOG classifier trained once for all the tests that need it.</summary>
public sealed class TrainedHogClassifier : IDisposable
{
    public TrainedHogClassifier()
    {
        Sample = FashionMnist.LoadSample(limit: 1000);
        Classifier = HogClassifier.Train(Sample.Images[..800], Sample.Labels[..800], FashionMnist.ClassNames, new HogClassifierOptions(Seed: 1), CPU);
    }

    public FashionMnist.LabeledImages Sample { get; }
    public HogClassifier Classifier { get; }
    public Tensor TestImages => Sample.Images[800..];
    public Tensor TestLabels => Sample.Labels[800..];

    public void Dispose()
    {
        Classifier.Dispose();
        Sample.Dispose();
    }
}

public class HogClassifierTests(TrainedHogClassifier trained) : IClassFixture<TrainedHogClassifier>
{
    [Fact]
    public void The_classifier_learns_fashion_mnist()
    {
        var accuracy = trained.Classifier.Accuracy(trained.TestImages, trained.TestLabels);
        Assert.True(accuracy > 0.7, $"test accuracy {accuracy}");
        Assert.Equal(new[] { "hog", "linear" }, trained.Classifier.Model.LayerNames);
    }

    [Fact]
    public void The_torchsharp_copy_gives_mlnet_s_probabilities()
    {
        using var images = trained.TestImages[..100];
        using var ours = trained.Classifier.Model.Probabilities(images);
        using var mlnet = trained.Classifier.MlNetProbabilities(images);
        var difference = (ours - mlnet).abs().max().item<float>();
        Assert.True(difference < 1e-4f, $"largest probability difference {difference}");
        Assert.True(ours.argmax(1).eq(mlnet.argmax(1)).all().item<bool>());
    }

    [Fact]
    public void Training_is_deterministic_for_a_seed()
    {
        using var again = HogClassifier.Train(trained.Sample.Images[..800], trained.Sample.Labels[..800], FashionMnist.ClassNames, new HogClassifierOptions(Seed: 1), CPU);
        using var images = trained.TestImages[..20];
        Assert.True(again.Model.Forward(images).allclose(trained.Classifier.Model.Forward(images), atol: 1e-6));
    }

    [Fact]
    public void Pgd_through_hog_flips_predictions_within_epsilon()
    {
        var model = trained.Classifier.Model;
        using var images = trained.TestImages[..60];
        using var labels = trained.TestLabels[..60];
        using var correct = model.Probabilities(images).argmax(1).eq(labels);
        const double epsilon = 0.05;
        using var result = new Pgd(model, new PgdOptions(epsilon, epsilon / 4, 10, Seed: 2)).Run(images, labels);
        Assert.True(result.Perturbation.abs().max().item<float>() <= epsilon + 1e-6);
        Assert.True(result.Adversarial.min().item<float>() >= 0 && result.Adversarial.max().item<float>() <= 1);
        using var recomputed = model.Probabilities(result.Adversarial).argmax(1);
        Assert.True(recomputed.eq(result.AdversarialPrediction).all().item<bool>());
        // Most images the classifier got right are now wrong.
        using var flipped = result.Success.logical_and(correct);
        var rate = flipped.sum().item<long>() / (double)correct.sum().item<long>();
        Assert.True(rate > 0.5, $"flipped {rate:P0} of the correctly classified images");
    }

    [Fact]
    public void Fgsm_through_hog_lowers_accuracy()
    {
        var model = trained.Classifier.Model;
        using var images = trained.TestImages[..100];
        using var labels = trained.TestLabels[..100];
        double clean = trained.Classifier.Accuracy(images, labels);
        using var result = new Fgsm(model, new FgsmOptions(0.05)).Run(images, labels);
        double attacked = result.AdversarialPrediction.eq(labels).to(ScalarType.Float32).mean().item<float>();
        Assert.True(attacked < clean - 0.2, $"clean {clean}, after FGSM {attacked}");
    }

    [Fact]
    public void Bad_training_requests_are_clear_errors()
    {
        var images = trained.Sample.Images[..20];
        Assert.Throws<ArgumentException>(() => HogClassifier.Train(images, trained.Sample.Labels[..10], FashionMnist.ClassNames));
        Assert.Throws<ArgumentOutOfRangeException>(() => HogClassifier.Train(images, full(20, 12L), FashionMnist.ClassNames));
        var missing = Assert.Throws<ArgumentException>(() => HogClassifier.Train(images, zeros(20, dtype: ScalarType.Int64), FashionMnist.ClassNames));
        Assert.Contains("every class needs examples", missing.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new HogClassifierOptions(Iterations: 0).Validate());
    }
}
