using WhatNetworksLearn.Evaluation;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

/// <summary>
/// ROAD's noisy linear imputation checked against what neighbour averaging must do (reproduce linear ramps and constant
/// colours, satisfy each removed pixel's neighbour-mean equation, also along the border), and its curves worked out by
/// hand on the corner detector.
/// </summary>
public class RoadTests
{
    static readonly RoadOptions NoNoise = new(Noise: 0);

    static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    /// <summary>A 1 x 1 x H x W image with <paramref name="value"/>(row, column) at each pixel.</summary>
    static Tensor Image(int height, int width, Func<int, int, double> value) =>
        tensor(Enumerable.Range(0, height * width).Select(i => (float)value(i / width, i % width)).ToArray()).reshape(1, 1, height, width);

    /// <summary>A 1 x 1 x H x W mask, 1 where <paramref name="removed"/>(row, column) says so.</summary>
    static Tensor Mask(int height, int width, Func<int, int, bool> removed) => Image(height, width, (r, c) => removed(r, c) ? 1 : 0);

    [Fact]
    public void A_linear_ramp_is_reproduced_inside_the_image_and_along_the_border_it_runs_parallel_to()
    {
        // Inside the image the symmetric 8-neighbour mean of a linear function is its value at the centre, so the ramp
        // solves every removed pixel's equation; the solution is unique, so it is the ramp.
        using var ramp = Image(12, 12, (r, c) => 0.1 + 0.02 * r + 0.03 * c);
        using var inside = Mask(12, 12, (r, c) => (r is >= 2 and <= 9 && c is >= 3 and <= 8) || (r, c) == (10, 1));
        using var filled = Road.Impute(ramp, inside, NoNoise);
        Assert.True(filled.allclose(ramp, rtol: 0, atol: 1e-5), $"largest error {(filled - ramp).abs().max().item<float>()}");

        // A ramp along the columns, with whole columns removed from the top row to the bottom one: along the top and
        // bottom borders the mean is over the five neighbours inside the image, still symmetric left and right.
        using var columns = Image(12, 12, (r, c) => 0.05 + 0.07 * c);
        using var band = Mask(12, 12, (_, c) => c is >= 4 and <= 6);
        using var bandFilled = Road.Impute(columns, band, NoNoise);
        Assert.True(bandFilled.allclose(columns, rtol: 0, atol: 1e-5), $"largest error {(bandFilled - columns).abs().max().item<float>()}");

        // With noise, every removed pixel is the ramp plus the same noise in every image, of about the noise's size.
        var noisy = new RoadOptions(Noise: 0.01, Seed: 3);
        using var two = cat([ramp, 1 - ramp]);
        using var twoMasks = cat([inside, inside]);
        using var difference = Road.Impute(two, twoMasks, noisy) - two;
        Assert.True(difference[0].allclose(difference[1], rtol: 0, atol: 1e-6));
        Assert.Equal(0f, (difference[0] * (1 - inside[0])).abs().max().item<float>());
        using var onRemoved = difference[0].masked_select(inside[0].to_type(ScalarType.Bool));
        double spread = onRemoved.std().item<float>();
        Assert.True(spread is > 0.006 and < 0.014, $"noise standard deviation {spread}");
        Assert.True(Math.Abs(onRemoved.mean().item<float>()) < 0.005);
    }

    [Fact]
    public void Without_noise_each_removed_pixel_is_the_weighted_mean_of_its_neighbours_inside_the_image()
    {
        // Random pixels, two channels, a random mask that removes about 70 %, border and corners included; each equation
        // checked here one pixel at a time: direct neighbours weigh 1/6, diagonal ones 1/12, absent ones nothing.
        const int height = 10, width = 9;
        using var images = rand(2, 2, height, width, generator: new Generator(5));
        using var removed = (rand(2, 1, height, width, generator: new Generator(6)) < 0.7).to_type(ScalarType.Float32);
        removed[.., .., 4, 4] = tensor(0f);   // one pixel kept in each image at least
        using var filled = Road.Impute(images, removed, NoNoise);
        var x = filled.data<float>().ToArray();
        var gone = removed.data<float>().ToArray();
        var original = images.data<float>().ToArray();
        int checkedPixels = 0;
        for (int i = 0; i < 2; i++)
            for (int c = 0; c < 2; c++)
                for (int r = 0; r < height; r++)
                    for (int col = 0; col < width; col++)
                    {
                        int at = ((i * 2 + c) * height + r) * width + col;
                        if (gone[(i * height + r) * width + col] == 0)
                        {
                            Assert.Equal(original[at], x[at]);
                            continue;
                        }
                        double sum = 0, weight = 0;
                        for (int dr = -1; dr <= 1; dr++)
                            for (int dc = -1; dc <= 1; dc++)
                            {
                                if ((dr, dc) == (0, 0) || r + dr < 0 || r + dr >= height || col + dc < 0 || col + dc >= width)
                                    continue;
                                double w = dr == 0 || dc == 0 ? 1.0 / 6 : 1.0 / 12;
                                sum += w * x[at + dr * width + dc];
                                weight += w;
                            }
                        Assert.True(Math.Abs(x[at] - sum / weight) < 1e-5, $"pixel ({i}, {c}, {r}, {col}): {x[at]} against the neighbours' mean {sum / weight}");
                        checkedPixels++;
                    }
        Assert.True(checkedPixels > 150, $"only {checkedPixels} removed pixels checked");
    }

    [Fact]
    public void A_removed_region_surrounded_by_one_colour_takes_that_colour_each_channel_its_own()
    {
        // A 3-channel image of one colour with garbage inside the region, which touches the top and left borders.
        using var colour = tensor(new[] { 0.2f, 0.5f, 0.7f }).reshape(1, 3, 1, 1);
        using var image = colour.expand(1, 3, 9, 11).clone();
        using var region = Mask(9, 11, (r, c) => r <= 4 && c <= 5 || (r, c) == (8, 10));
        using var garbage = rand(1, 3, 9, 11, generator: new Generator(2));
        using var scrawled = image * (1 - region) + garbage * region;
        using var filled = Road.Impute(scrawled, region, NoNoise);
        Assert.True(filled.allclose(image, rtol: 0, atol: 1e-6), $"largest error {(filled - image).abs().max().item<float>()}");
    }

    [Fact]
    public void On_the_corner_detector_MoRF_falls_only_when_the_whole_corner_is_gone_and_LeRF_never_falls()
    {
        // Class 0's score is 10 × the sum of the top-left 2 x 2 corner. The image: a bright corner (1) on black.
        using var model = ToyModels.CornerDetector();
        using var image = zeros(1, 1, 8, 8);
        image[0, 0, ..2, ..2] = tensor(1f);
        using var cornerFirst = zeros(1, 8, 8);
        cornerFirst[0, ..2, ..2] = tensor(new[,] { { 4f, 3f }, { 2f, 1f } });   // the corner, pixel (0, 0) first
        var options = new RoadOptions([0, 1 / 64.0, 4 / 64.0, 0.5, 0.9], Noise: 0);

        // MoRF: with pixel (0, 0) removed, its neighbours are the other three corner pixels (all 1), so it is filled
        // with 1 and nothing changes: σ(40). With the whole corner removed, its neighbours are black: filled with 0, σ(0) = 0.5.
        using var morf = Road.MostRelevantFirst(model, image, cornerFirst, 0, options);
        var expected = new[] { Sigmoid(40), Sigmoid(40), 0.5, 0.5, 0.5 };
        Assert.Equal(expected, morf.Probabilities[0].data<double>().ToArray(), (a, b) => Math.Abs(a - b) < 1e-6);
        Assert.Equal(FaithfulnessCurves.Area(expected, options.RemovedFractions), morf.Areas[0], 6);

        // LeRF removes the black pixels first, up to 90 % of the image: the corner stays, σ(40) throughout.
        using var lerf = Road.LeastRelevantFirst(model, image, cornerFirst, 0, options);
        Assert.All(lerf.Probabilities[0].data<double>().ToArray(), p => Assert.Equal(Sigmoid(40), p, 6));

        // On a uniformly grey image the removed pixels come back grey: ROAD leaves no trace, where deletion paints black.
        using var grey = full(1, 1, 8, 8, 0.5f);
        using var greyRoad = Road.MostRelevantFirst(model, grey, cornerFirst, 0, options);
        Assert.All(greyRoad.Probabilities[0].data<double>().ToArray(), p => Assert.Equal(Sigmoid(20), p, 6));
    }

    [Fact]
    public void Nothing_removed_gives_the_models_probability_and_curves_do_not_depend_on_the_batch()
    {
        using var model = ToyModels.CornerDetector();
        using var images = rand(3, 1, 8, 8, generator: new Generator(7)) * 0.2;
        using var maps = rand(3, 8, 8, generator: new Generator(8));
        int[] classes = [0, 1, 0];
        var options = new RoadOptions([0, 0.25, 0.5, 0.75], Noise: 0.01, Seed: 4, BatchSize: 3);   // batches cut across images
        using var probabilities = model.Probabilities(images);
        foreach (var curves in new Func<Tensor, Tensor, Models.Targets, FaithfulnessCurves>[]
                 { (x, m, t) => Road.MostRelevantFirst(model, x, m, t, options), (x, m, t) => Road.LeastRelevantFirst(model, x, m, t, options) })
        {
            using var all = curves(images, maps, classes);
            Assert.Equal(new long[] { 3, 4 }, all.Probabilities.shape);
            for (int i = 0; i < 3; i++)
            {
                Assert.Equal(probabilities[i, classes[i]].item<float>(), all.Probabilities[i, 0].item<double>(), 6);
                using var alone = curves(images.narrow(0, i, 1), maps.narrow(0, i, 1), classes[i]);
                Assert.True(alone.Probabilities[0].allclose(all.Probabilities[i], rtol: 0, atol: 1e-6), $"image {i}");
            }
            Assert.True(all.Probabilities[.., 1..].sub(all.Probabilities[.., ..1]).abs().max().item<double>() > 1e-3, "the removal changed nothing");
        }
    }

    [Fact]
    public void The_pixels_a_map_puts_first_are_its_largest_or_smallest_with_ties_in_a_seeded_random_order()
    {
        using var maps = tensor(new[] { 0.5f, 0.9f, 0.5f, 0.1f }).reshape(1, 2, 2).expand(2, 2, 2);   // the same map twice
        var tops = Enumerable.Range(0, 20).Select(seed =>
        {
            using var top = FaithfulnessCurves.FirstPixels(maps, 0.5, seed: seed);
            var values = top.data<float>().ToArray();
            Assert.Equal(values[..4], values[4..]);   // one order of ties for every image
            Assert.Equal((1f, 0f, 1f), (values[1], values[3], values[0] + values[2]));   // 0.9 and one of the two 0.5s
            return values[0];
        }).ToList();
        Assert.Contains(1f, tops);   // which 0.5 comes first depends on the seed
        Assert.Contains(0f, tops);
        using var again = FaithfulnessCurves.FirstPixels(maps, 0.5, seed: 7);
        using var once = FaithfulnessCurves.FirstPixels(maps, 0.5, seed: 7);
        Assert.True(again.allclose(once, rtol: 0, atol: 0));
        using var bottom = FaithfulnessCurves.FirstPixels(maps, 0.75, largestFirst: false);
        Assert.Equal(new[] { 1f, 0f, 1f, 1f }, bottom[0].data<float>().ToArray());   // 0.1, then both 0.5s

        // A map that is 0 everywhere: half the pixels, scattered, not the top rows as the reading order would give.
        using var flat = FaithfulnessCurves.FirstPixels(zeros(1, 8, 8), 0.5);
        Assert.Equal(32f, flat.sum().item<float>());
        Assert.True(flat[0, 0, ..4].sum().item<float>() < 28);
    }

    [Fact]
    public void Bad_masks_and_options_are_refused_with_what_to_do()
    {
        using var model = ToyModels.CornerDetector();
        using var image = full(1, 1, 8, 8, 0.5f);
        using var map = rand(1, 8, 8, generator: new Generator(1));
        Assert.Contains("at least one pixel", Assert.Throws<ArgumentException>(() => Road.Impute(image, ones(1, 1, 8, 8))).Message);
        Assert.Contains("N x 1 x H x W", Assert.Throws<ArgumentException>(() => Road.Impute(image, zeros(1, 8, 8))).Message);
        Assert.Contains("other than 0", Assert.Throws<ArgumentException>(() => Road.Impute(image, full(1, 1, 8, 8, 0.5f))).Message);
        Assert.Contains("below 1", Assert.Throws<ArgumentOutOfRangeException>(() => Road.MostRelevantFirst(model, image, map, 0, new RoadOptions([0, 1]))).Message);
        Assert.Contains("increase", Assert.Throws<ArgumentOutOfRangeException>(() => Road.LeastRelevantFirst(model, image, map, 0, new RoadOptions([0.5, 0.2]))).Message);
        Assert.Contains("every one of the 64", Assert.Throws<ArgumentOutOfRangeException>(() => Road.MostRelevantFirst(model, image, map, 0, new RoadOptions([0, 0.995]))).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Road.MostRelevantFirst(model, image, map, 0, new RoadOptions(Noise: -0.1)));
        Assert.Contains("N x H x W", Assert.Throws<ArgumentException>(() => Road.MostRelevantFirst(model, image, rand(1, 1, 8, 8), 0)).Message);
    }
}
