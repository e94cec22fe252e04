using WhatNetworksLearn.Adversarial;
using WhatNetworksLearn.Data;
using WhatNetworksLearn.Models;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

public class OnePixelTests(ITestOutputHelper output)
{
    /// <summary>
    /// A two-class model on 1 x 8 x 8 images in which only the pixel at row 5, column 3 matters: class 1 wins
    /// when that pixel is brighter than 0.5, class 0 otherwise.
    /// </summary>
    static VisionModel SinglePixelSwitch(Func<nn.Module<Tensor, Tensor>, nn.Module<Tensor, Tensor>>? wrap = null)
    {
        var weight = zeros(8, 8);
        weight[5, 3] = tensor(1f);
        return Switch(weight, wrap);
    }

    /// <summary>Wraps a network and counts the images that go through it.</summary>
    sealed class CountImages : nn.Module<Tensor, Tensor>
    {
        readonly nn.Module<Tensor, Tensor> inner;

        public long Images { get; private set; }

        public CountImages(nn.Module<Tensor, Tensor> inner) : base("count-images")
        {
            this.inner = inner;
            RegisterComponents();
        }

        public override Tensor forward(Tensor input)
        {
            Images += input.shape[0];
            return inner.forward(input);
        }
    }

    /// <summary>
    /// A two-class model on 1 x 8 x 8 images: class 1 scores 20 x (sum of the pixels weighted by <paramref name="weight"/>) - 10,
    /// class 0 scores 0; <paramref name="wrap"/>, when given, wraps the network (to watch what goes through it).
    /// </summary>
    static VisionModel Switch(Tensor weight, Func<nn.Module<Tensor, Tensor>, nn.Module<Tensor, Tensor>>? wrap = null)
    {
        var linear = nn.Linear(64, 2);
        using (no_grad())
        {
            linear.weight!.zero_();
            linear.bias!.zero_();
            linear.weight[1] = weight.flatten() * 20;
            linear.bias[1] = tensor(-10f);
        }
        nn.Module<Tensor, Tensor> network = nn.Sequential(("flatten", nn.Flatten()), ("linear", linear));
        return new VisionModel("switch", "toy", wrap is null ? network : wrap(network), new InputSpec(1, 8, 8, [0f], [1f]), ["dark", "bright"], null, CPU);
    }

    /// <summary>The number of positions per image where any channel differs.</summary>
    static long[] ChangedPositions(Tensor original, Tensor adversarial) =>
        adversarial.ne(original).any(1).flatten(1).sum(1).data<long>().ToArray();

    /// <summary>Correctly classified sample images; with <paramref name="leastConfident"/>, those the model is least sure of (the easiest to attack).</summary>
    static (VisionModel Model, Tensor Images, Tensor Labels) CorrectlyClassifiedFashion(int count, bool leastConfident = false)
    {
        var model = ModelRegistry.Load("fashion-cnn");
        var sample = FashionMnist.LoadSample(200);
        var (confidence, predicted) = model.Probabilities(sample.Images).cpu().max(1);
        var correct = predicted.eq(sample.Labels).nonzero().flatten();
        if (leastConfident)
            correct = correct[confidence[correct].argsort()];
        correct = correct[..count];
        return (model, sample.Images[correct], sample.Labels[correct]);
    }

    [Theory]
    [InlineData(OnePixelSearch.Evolution)]
    [InlineData(OnePixelSearch.Random)]
    public void FindsThePixelThatDecidesTheClass(OnePixelSearch search)
    {
        using var model = SinglePixelSwitch();
        var images = zeros(2, 1, 8, 8);
        var labels = tensor(new long[] { 0, 0 });
        using var result = new OnePixel(model, new OnePixelOptions(Population: 40, Iterations: 100, Seed: 3, Search: search)).Attack(images, labels);
        Assert.Equal([true, true], result.Attack.Success.data<bool>().ToArray());
        foreach (var pixels in result.ChangedPixels)
            Assert.Equal(new ChangedPixel(3, 5), Assert.Single(pixels));
        Assert.True(result.Attack.Adversarial[0, 0, 5, 3].item<float>() > 0.5f);
        Assert.Equal([1L, 1L], ChangedPositions(images, result.Attack.Adversarial));
    }

    [Fact]
    public void TargetedAttackReachesTheTargetOnTheToyModel()
    {
        using var model = SinglePixelSwitch();
        var images = full(1, 1, 8, 8, 0.9f);   // bright: class 1
        using var result = new OnePixel(model, new OnePixelOptions(Population: 40, Iterations: 100, Seed: 1)).Attack(images, tensor(new long[] { 1 }), targets: 0);
        Assert.True(result.Attack.Success[0].item<bool>());
        Assert.Equal(new ChangedPixel(3, 5), Assert.Single(result.ChangedPixels[0]));
        Assert.True(result.Attack.Adversarial[0, 0, 5, 3].item<float>() < 0.5f);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void ChangesExactlyKPixelsAndReportsTheModelsPredictions(int k)
    {
        var (model, images, labels) = CorrectlyClassifiedFashion(4);
        using var result = new OnePixel(model, new OnePixelOptions(Pixels: k, Population: 30, Iterations: 5, Seed: 2)).Attack(images, labels);
        Assert.All(ChangedPositions(images, result.Attack.Adversarial), count => Assert.Equal(k, count));
        Assert.All(result.ChangedPixels, pixels => Assert.Equal(k, pixels.Count));
        // The reported pixels are the ones that differ.
        for (int i = 0; i < 4; i++)
            foreach (var p in result.ChangedPixels[i])
                Assert.True(result.Attack.Perturbation[i, 0, p.Y, p.X].abs().item<float>() > 0);
        var recomputed = model.Probabilities(result.Attack.Adversarial).cpu();
        Assert.Equal(recomputed.argmax(1).data<long>().ToArray(), result.Attack.AdversarialPrediction.data<long>().ToArray());
        Assert.Equal(recomputed.max(1).values.data<float>().ToArray(), result.Attack.AdversarialProbability.data<float>().ToArray());
        Assert.Equal(labels.data<long>().ToArray(), result.Attack.OriginalPrediction.data<long>().ToArray());
        Assert.Equal(recomputed.argmax(1).ne(labels).data<bool>().ToArray(), result.Attack.Success.data<bool>().ToArray());
        Assert.True(result.Attack.Adversarial.min().item<float>() >= 0 && result.Attack.Adversarial.max().item<float>() <= 1);
    }

    [Fact]
    public void SameSeedSameAttack()
    {
        var (model, images, labels) = CorrectlyClassifiedFashion(2);
        var options = new OnePixelOptions(Pixels: 2, Population: 20, Iterations: 3, CrossoverRate: 0.7f, Seed: 11);
        using var first = new OnePixel(model, options).Attack(images, labels);
        using var second = new OnePixel(model, options).Attack(images, labels);
        Assert.True(first.Attack.Adversarial.eq(second.Attack.Adversarial).all().item<bool>());
        Assert.Equal(first.ChangedPixels.SelectMany(p => p), second.ChangedPixels.SelectMany(p => p));
        using var other = new OnePixel(model, options with { Seed = 12 }).Attack(images, labels);
        Assert.False(first.Attack.Adversarial.eq(other.Attack.Adversarial).all().item<bool>());
    }

    [Theory]
    [InlineData(OnePixelSearch.Evolution)]
    [InlineData(OnePixelSearch.Random)]
    public void AnImagesAttackDoesNotDependOnTheOtherImagesOfItsBatch(OnePixelSearch search)
    {
        // The three images the model is least sure of (broken early) and the three it is surest of (never broken).
        var (model, sorted, sortedLabels) = CorrectlyClassifiedFashion(150, leastConfident: true);
        using var pick = tensor(new long[] { 0, 1, 2, 147, 148, 149 });
        var (images, labels) = (sorted[pick], sortedLabels[pick]);
        var options = new OnePixelOptions(Pixels: 2, Population: 20, Iterations: 6, CrossoverRate: 0.7f, Seed: 4, Search: search);
        using var together = new OnePixel(model, options).Attack(images, labels);
        Assert.Contains(together.QueriesToSuccess, q => q < options.Budget);   // some images leave the search early, others do not
        Assert.Contains(together.QueriesToSuccess, q => q is null);
        for (int i = 0; i < 6; i++)
        {
            using var alone = new OnePixel(model, options).Attack(images[i..(i + 1)], labels[i..(i + 1)]);
            Assert.True(alone.Attack.Adversarial[0].eq(together.Attack.Adversarial[i]).all().item<bool>(), $"image {i}");
            Assert.Equal(alone.ChangedPixels[0], together.ChangedPixels[i]);
            Assert.Equal(alone.QueriesToSuccess[0], together.QueriesToSuccess[i]);
        }
    }

    [Fact]
    public void ASuccessInTheRandomStartCostsOnePopulation()
    {
        // Every pixel counts: any candidate brighter than 0.5 turns a black image into "bright", and the random start of
        // 10 candidates holds one (the chance that it does not is 1 in 1,024; this seed's start does).
        using var model = Switch(ones(8, 8));
        var images = zeros(3, 1, 8, 8);
        var labels = tensor(new long[] { 0, 0, 0 });
        foreach (var search in new[] { OnePixelSearch.Evolution, OnePixelSearch.Random })
        {
            using var result = new OnePixel(model, new OnePixelOptions(Population: 10, Iterations: 5, Search: search)).Attack(images, labels);
            Assert.Equal([10, 10, 10], result.QueriesToSuccess);
        }
    }

    [Theory]
    [InlineData(OnePixelSearch.Evolution)]
    [InlineData(OnePixelSearch.Random)]
    public void AFailureCostsTheWholeBudgetAndHasNoQueriesToSuccess(OnePixelSearch search)
    {
        // "dark" whatever the pixels: both searches send exactly 6 x (4 + 1) = 30 candidates per image through the
        // network, and two more images each (the answers on the original and on the attacked image).
        CountImages? counter = null;
        using var model = Switch(zeros(8, 8), network => counter = new CountImages(network));
        var options = new OnePixelOptions(Population: 6, Iterations: 4, Search: search);
        Assert.Equal(30, options.Budget);
        using var result = new OnePixel(model, options).Attack(zeros(2, 1, 8, 8), tensor(new long[] { 0, 0 }));
        Assert.Equal([null, null], result.QueriesToSuccess);
        Assert.Equal([0, 0], result.SuccessesWithin([6, 30]));
        Assert.Equal(2 * 30 + 2 * 2, counter!.Images);
    }

    [Theory]
    [InlineData(OnePixelSearch.Evolution)]
    [InlineData(OnePixelSearch.Random)]
    public void QueriesAreTheCandidatesSentThroughTheNetwork(OnePixelSearch search)
    {
        // A black image falls when (5,3) goes above 0.5, a grey one (0.2 everywhere) only above 0.7, and one whose pixel
        // (5,4) is white never falls to one pixel.
        CountImages? counter = null;
        using var model = Switch(TwoPixelWeight(), network => counter = new CountImages(network));
        var images = ThreeSwitchImages();
        var labels = tensor(new long[] { 0, 0, 0 });
        var options = new OnePixelOptions(Population: 40, Iterations: 100, Seed: 5, Search: search);
        using var result = new OnePixel(model, options).Attack(images, labels);
        // Two more passes per image pack the result: the model's answers on the original and on the attacked image.
        long spent = result.QueriesToSuccess.Sum(q => q ?? options.Budget) + 2 * images.shape[0];
        Assert.Equal(spent, counter!.Images);
        Assert.All(result.QueriesToSuccess, q => Assert.True(q is null || (q % options.Population == 0 && q <= options.Budget)));
        Assert.Equal(result.Attack.Success.data<bool>().ToArray(), result.QueriesToSuccess.Select(q => q is not null).ToArray());
        Assert.Equal([true, true, false], result.QueriesToSuccess.Select(q => q is not null).ToArray());
        output.WriteLine($"{search}: queries to success {string.Join(", ", result.QueriesToSuccess)}");
    }

    [Theory]
    [InlineData(OnePixelSearch.Evolution)]
    [InlineData(OnePixelSearch.Random)]
    public void OneRunGivesTheSuccessOfEveryShorterBudget(OnePixelSearch search)
    {
        // A search with fewer generations is the longer one cut short (the same draws in the same order), so an image
        // falls within g generations exactly when the long run broke it within Population x (g + 1) queries.
        var (model, images, labels) = CorrectlyClassifiedFashion(8, leastConfident: true);
        var options = new OnePixelOptions(Population: 12, Iterations: 5, Seed: 2, Search: search);
        using var full = new OnePixel(model, options).Attack(images, labels);
        Assert.Contains(full.QueriesToSuccess, q => q > options.Population);   // some fall after the random start
        for (int generations = 0; generations < options.Iterations; generations++)
        {
            using var shorter = new OnePixel(model, options with { Iterations = generations }).Attack(images, labels);
            int budget = options.Population * (generations + 1);
            Assert.Equal(full.QueriesToSuccess.Select(q => q <= budget).ToArray(), shorter.Attack.Success.data<bool>().ToArray());
            Assert.Equal(full.QueriesToSuccess.Select(q => q <= budget ? q : null).ToArray(), shorter.QueriesToSuccess);
        }
    }

    [Fact]
    public void BothSearchesStartFromTheSamePopulationAndThenDiffer()
    {
        var (model, images, labels) = CorrectlyClassifiedFashion(3);
        var start = new OnePixelOptions(Population: 10, Iterations: 0, Seed: 7);
        using var evolutionStart = new OnePixel(model, start).Attack(images, labels);
        using var randomStart = new OnePixel(model, start with { Search = OnePixelSearch.Random }).Attack(images, labels);
        Assert.True(evolutionStart.Attack.Adversarial.eq(randomStart.Attack.Adversarial).all().item<bool>());
        using var evolution = new OnePixel(model, start with { Iterations = 3 }).Attack(images, labels);
        using var random = new OnePixel(model, start with { Iterations = 3, Search = OnePixelSearch.Random }).Attack(images, labels);
        Assert.False(evolution.Attack.Adversarial.eq(random.Attack.Adversarial).all().item<bool>());
    }

    [Fact]
    public void SuccessesWithinABudgetCountTheImagesBrokenByThen()
    {
        int?[] queries = [400, null, 1200, 800, 400];
        Assert.Equal([0, 2, 3, 4, 4], OnePixel.SuccessesWithin(queries, [399, 400, 800, 1200, 40_400]));
    }

    /// <summary>Black, grey (0.2) and black with a white pixel at row 5, column 4: images for the two-pixel switch.</summary>
    static Tensor ThreeSwitchImages()
    {
        var whiteNeighbour = zeros(1, 1, 8, 8);
        whiteNeighbour[0, 0, 5, 4] = tensor(1f);
        return cat([zeros(1, 1, 8, 8), full(1, 1, 8, 8, 0.2f), whiteNeighbour], 0);
    }

    /// <summary>Class 1 scores 20 (pixel (5,3) - pixel (5,4)) - 10.</summary>
    static Tensor TwoPixelWeight()
    {
        var weight = zeros(8, 8);
        weight[5, 3] = tensor(1f);
        weight[5, 4] = tensor(-1f);
        return weight;
    }

    [Fact]
    public void TheScanCountsTheOnePixelChangesThatBreakEachImage()
    {
        // Worked out by hand. The two-pixel switch: the black image needs (5,3) above 0.5 (0.75 and 1 of the five
        // values), the grey one above 0.7 (0.75 and 1 again), the third cannot fall. "Any bright pixel": every one of the
        // 64 positions set to 0.75 or 1 breaks a black image.
        float[] values = [0f, 0.25f, 0.5f, 0.75f, 1f];
        using var twoPixels = Switch(TwoPixelWeight());
        Assert.Equal([2, 2, 0], new OnePixel(twoPixels).Scan(ThreeSwitchImages(), tensor(new long[] { 0, 0, 0 }), values));
        using var anyPixel = Switch(ones(8, 8));
        Assert.Equal([128], new OnePixel(anyPixel).Scan(zeros(1, 1, 8, 8), tensor(new long[] { 0 }), values));
        Assert.Equal([0], new OnePixel(anyPixel).Scan(zeros(1, 1, 8, 8), tensor(new long[] { 0 }), [0.5f]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new OnePixel(anyPixel).Scan(zeros(1, 1, 8, 8), tensor(new long[] { 0 }), [1.5f]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new OnePixel(anyPixel).Scan(zeros(1, 1, 8, 8), tensor(new long[] { 0 }), []));
    }

    [Fact]
    public void TheScanAgreesWithEveryChangedImageMadeByHand()
    {
        // The 784 images of one Fashion-MNIST garment with one pixel set to black (and then white), built with a one-hot mask
        // and classified in one batch, against the scan's batched candidates.
        var (model, images, labels) = CorrectlyClassifiedFashion(30, leastConfident: true);
        var image = images[0..1];
        foreach (var value in new[] { 0f, 1f })
        {
            var mask = eye(784).reshape(784, 1, 28, 28);
            var changed = image * (1 - mask) + mask * value;
            long byHand = model.Probabilities(changed).argmax(1).ne(labels[0]).sum().item<long>();
            Assert.Equal(byHand, new OnePixel(model).Scan(image, labels[0..1], [value])[0]);
            output.WriteLine($"pixel set to {value}: {byHand} of 784 positions change the answer");
        }
    }

    [Fact]
    public void RatesSearchWhatTheScanBreaksAndWhatTheyAreAskedTo()
    {
        using var model = Switch(TwoPixelWeight());
        var images = ThreeSwitchImages()[tensor(new long[] { 0, 2, 2 })];   // black, then twice the one that cannot fall
        var labels = tensor(new long[] { 0, 0, 0 });
        var options = new OnePixelOptions(Population: 40, Iterations: 100, Seed: 5);
        var rates = OnePixelRates.Measure(model, images, labels, options, [0f, 1f], alsoSearch: i => i == 2);
        Assert.Equal([1, 0, 0], rates.BreakingChanges);   // (5,3) set to 1
        Assert.Equal([true, false, true], rates.Searched);
        Assert.Equal([null, null], new[] { rates.Evolution[1], rates.Random[1] });   // not searched
        var searched = tensor(new long[] { 0, 2 });
        foreach (var (search, queries) in new[] { (OnePixelSearch.Evolution, rates.Evolution), (OnePixelSearch.Random, rates.Random) })
        {
            using var direct = new OnePixel(model, options with { Search = search }).Attack(images[searched], labels[searched]);
            Assert.Equal(direct.QueriesToSuccess, new[] { queries[0], queries[2] });
        }
        Assert.NotNull(rates.Evolution[0]);
        Assert.NotNull(rates.Random[0]);
        Assert.Null(rates.Evolution[2]);
        Assert.Equal(Enumerable.Range(1, 101).Select(g => 40 * g), rates.Budgets);

        var twice = rates.Concat(rates);
        var line = ShippedOnePixel.From("switch", "the command", twice, new DateTime(2026, 12, 7, 18, 50, 0, DateTimeKind.Utc), "the machine", 12);
        Assert.Equal(6, line.Images);
        Assert.Equal(OnePixel.SuccessesWithin(twice.Evolution, line.Budgets), line.EvolutionSuccesses);
        Assert.Equal(2 * (rates.Evolution[0] is null ? 0 : 1), line.EvolutionSuccesses[^1]);
        var path = Path.Combine(Path.GetTempPath(), $"one-pixel-{Guid.NewGuid():N}.json");
        try
        {
            ShippedOnePixel.WriteAll([line], "what was measured", path);
            var read = Assert.Single(ShippedOnePixel.ReadAll(path)).Rates;
            Assert.Equal(twice.Options with { Search = OnePixelSearch.Evolution }, read.Options);
            Assert.Equal(twice.BreakingChanges, read.BreakingChanges);
            Assert.Equal(twice.Searched, read.Searched);
            Assert.Equal(twice.Evolution, read.Evolution);
            Assert.Equal(twice.Random, read.Random);
            Assert.Equal(twice.ScanValues, read.ScanValues);
        }
        finally
        {
            File.Delete(path);
        }
        Assert.Throws<ArgumentException>(() => rates.Concat(rates with { ScanValues = [0f] }));
        Assert.Throws<ArgumentException>(() => rates.Concat(rates with { Options = options with { Seed = 2 } }));
    }

    [Fact]
    public void TheResultsFileIsReadAsWrittenByHand()
    {
        // Three images: the first broken by both searches in the random start (4 queries), the second not searched,
        // the third broken by evolution after two generations and never by random search.
        const string file = """
            {
              "attack": "a hand-made file",
              "results": [
                {
                  "model": "tiny", "command": "by hand", "seed": 3, "images": 3, "pixels": 1, "population": 4, "iterations": 2,
                  "mutationFactor": 0.5, "crossoverRate": null, "scanValues": [0, 1], "budgets": [4, 8, 12],
                  "evolutionSuccesses": [1, 1, 2], "randomSuccesses": [1, 1, 1], "breakingChanges": [5, 0, 2],
                  "searched": [true, false, true], "evolutionQueries": [4, null, 12], "randomQueries": [4, null, null],
                  "date": "2026-12-07 18:50 UTC", "machine": "a pencil", "seconds": 1.5
                }
              ]
            }
            """;
        var path = Path.Combine(Path.GetTempPath(), $"one-pixel-{Guid.NewGuid():N}.json");
        try
        {
            File.WriteAllText(path, file);
            var row = Assert.Single(ShippedOnePixel.ReadAll(path));
            Assert.Equal(("tiny", "by hand", 3, "2026-12-07 18:50 UTC", "a pencil", 1.5), (row.Model, row.Command, row.Images, row.Date, row.Machine, row.Seconds));
            Assert.Equal([4, 8, 12], row.Budgets);
            Assert.Equal([1, 1, 2], row.EvolutionSuccesses);
            var rates = row.Rates;
            Assert.Equal(new OnePixelOptions(Pixels: 1, Population: 4, Iterations: 2, MutationFactor: 0.5f, CrossoverRate: null, Seed: 3), rates.Options);
            Assert.Equal(row.Budgets, rates.Budgets);
            Assert.Equal([0f, 1f], rates.ScanValues);
            Assert.Equal([5, 0, 2], rates.BreakingChanges);
            Assert.Equal([true, false, true], rates.Searched);
            Assert.Equal([4, null, 12], rates.Evolution);
            Assert.Equal([4, null, null], rates.Random);
            Assert.Equal(row.RandomSuccesses, OnePixel.SuccessesWithin(rates.Random, rates.Budgets));
        }
        finally
        {
            File.Delete(path);
        }
        Assert.Empty(ShippedOnePixel.ReadAll(path));   // no file yet: no lines
    }

    [Fact]
    public void TheShippedRatesComeFromThePapersSearchAndAddUp()
    {
        var rows = ShippedOnePixel.ReadAll();
        Assert.Contains(rows, r => r.Model == FashionCnn.Name);
        var paper = new OnePixelOptions();
        foreach (var row in rows)
        {
            Assert.Equal(paper, row.Rates.Options);
            Assert.Equal(Enumerable.Range(1, paper.Iterations + 1).Select(g => g * paper.Population), row.Budgets);
            Assert.All(new Array[] { row.BreakingChanges, row.Searched, row.EvolutionQueries, row.RandomQueries }, a => Assert.Equal(row.Images, a.Length));
            Assert.Equal(OnePixel.SuccessesWithin(row.EvolutionQueries, row.Budgets), row.EvolutionSuccesses);
            Assert.Equal(OnePixel.SuccessesWithin(row.RandomQueries, row.Budgets), row.RandomSuccesses);
            Assert.Equal($"dotnet run -c Release --project data/models/evaluate -- --model {row.Model} --one-pixel {row.Images}", row.Command);
            for (int i = 0; i < row.Images; i++)
            {
                Assert.Equal(row.BreakingChanges[i] > 0 || i % 50 == 0, row.Searched[i]);
                if (!row.Searched[i])
                    Assert.True(row.EvolutionQueries[i] is null && row.RandomQueries[i] is null);
                // The random start is the same for both searches, so they break the same images with it.
                Assert.Equal(row.EvolutionQueries[i] == paper.Population, row.RandomQueries[i] == paper.Population);
            }
        }
    }

    [Fact]
    public void TheShippedRatesBeginAsTheAttackRunsNow()
    {
        // The file's first images, scanned again and searched for two generations (1,200 queries): what fell by then falls
        // again after the same number of queries, and nothing else does.
        var row = ShippedOnePixel.ReadAll().Single(r => r.Model == FashionCnn.Name);
        const int count = 30;
        var (model, images, labels) = CorrectlyClassifiedFashion(count);
        var shipped = row.Rates;
        var rates = OnePixelRates.Measure(model, images, labels, shipped.Options with { Iterations = 2 }, shipped.ScanValues, i => shipped.Searched[i]);
        Assert.Equal(shipped.BreakingChanges.Take(count), rates.BreakingChanges);
        int?[] Early(IEnumerable<int?> queries) => queries.Take(count).Select(q => q <= 1200 ? q : null).ToArray();
        Assert.Equal(Early(shipped.Evolution), rates.Evolution);
        Assert.Equal(Early(shipped.Random), rates.Random);
    }

    [Fact]
    public void SucceedsOnSomeFashionImages()
    {
        var (model, images, labels) = CorrectlyClassifiedFashion(10, leastConfident: true);
        using var result = new OnePixel(model, new OnePixelOptions(Population: 50, Iterations: 20)).Run(images, labels);
        output.WriteLine($"one-pixel success rate on the 10 least confident correctly classified of 200 Fashion-MNIST images: {result.SuccessRate:P0}");
        Assert.True(result.SuccessRate > 0);
    }

    [Fact]
    public void BadOptionsGiveClearErrors()
    {
        using var model = SinglePixelSwitch();
        var images = zeros(1, 1, 8, 8);
        var labels = tensor(new long[] { 0 });
        var k = Assert.Throws<ArgumentOutOfRangeException>(() => new OnePixel(model, new OnePixelOptions(Pixels: 0)).Run(images, labels));
        Assert.Contains("at least 1 pixel", k.Message);
        var population = Assert.Throws<ArgumentOutOfRangeException>(() => new OnePixel(model, new OnePixelOptions(Population: 3)).Run(images, labels));
        Assert.Contains("at least 4", population.Message);
        var iterations = Assert.Throws<ArgumentOutOfRangeException>(() => new OnePixel(model, new OnePixelOptions(Iterations: -1)).Run(images, labels));
        Assert.Contains("cannot be negative", iterations.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new OnePixel(model, new OnePixelOptions(CrossoverRate: 1.5f)).Run(images, labels));
        Assert.Throws<ArgumentOutOfRangeException>(() => new OnePixel(model).Run(images, labels, targets: 2));
        Assert.Throws<ArgumentException>(() => new OnePixel(model).Run(images, tensor(new long[] { 0, 1 })));
        Assert.Throws<ArgumentException>(() => new OnePixel(model).Run(zeros(1, 3, 8, 8), labels));
    }

    [Fact]
    public void RunsOnResNet18WithATinyBudget()
    {
        using var model = TorchVisionModels.CreateUntrained("resnet18");
        var images = rand(new long[] { 1, 3, 224, 224 }, generator: new Generator(5));
        var labels = model.Probabilities(images).argmax(1).cpu();
        using var result = new OnePixel(model, new OnePixelOptions(Population: 6, Iterations: 1)).Run(images, labels, targets: 7);
        Assert.Equal(new long[] { 1, 3, 224, 224 }, result.Adversarial.shape);
        Assert.Equal([1L], ChangedPositions(images, result.Adversarial));
        Assert.True(result.Adversarial.min().item<float>() >= 0 && result.Adversarial.max().item<float>() <= 1);
        Assert.Equal(new long[] { 1 }, result.Success.shape);
    }
}
