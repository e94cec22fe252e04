using WhatNetworksLearn.Adversarial;
using WhatNetworksLearn.Models;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

public class FoolingImagesTests(ITestOutputHelper output)
{
    static readonly int[] AllTen = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

    /// <summary>
    /// A two-class model on 1 x 4 x 4 images: the score of class 0 is Σ w·x with the weights below (half positive, half
    /// negative), class 1 always scores 0. So p(class 0) = sigmoid(w·x), which is largest for the image that is 1
    /// where w is positive and 0 where it is negative: sigmoid(3.2) ≈ 0.961. No image reaches 99 %.
    /// </summary>
    static readonly float[] LinearWeights = [0.5f, -0.3f, 0.2f, -0.4f, 0.1f, 0.4f, -0.2f, -0.5f, 0.3f, -0.1f, 0.5f, 0.2f, -0.3f, -0.4f, 0.6f, -0.5f];

    static VisionModel LinearToy(Func<nn.Module<Tensor, Tensor>, nn.Module<Tensor, Tensor>>? wrap = null)
    {
        var linear = nn.Linear(16, 2);
        using (no_grad())
        {
            linear.weight!.zero_();
            linear.bias!.zero_();
            linear.weight[0] = tensor(LinearWeights);
        }
        nn.Module<Tensor, Tensor> network = nn.Sequential(("flatten", nn.Flatten()), ("linear", linear));
        if (wrap is not null)
            network = wrap(network);
        return new VisionModel("linear-toy", "toy", network, new InputSpec(1, 4, 4, [0f], [1f]), ["linear", "zero"], null, CPU);
    }

    static Tensor LinearOptimum() => tensor(LinearWeights.Select(w => w > 0 ? 1f : 0f).ToArray()).reshape(1, 1, 4, 4);

    static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    static double LinearBest => Sigmoid(LinearWeights.Where(w => w > 0).Sum());

    /// <summary>Wraps a network so that its forward pass throws whenever autograd could record it.</summary>
    sealed class ForbidGradients : nn.Module<Tensor, Tensor>
    {
        readonly nn.Module<Tensor, Tensor> inner;

        public ForbidGradients(nn.Module<Tensor, Tensor> inner) : base("forbid-gradients")
        {
            this.inner = inner;
            RegisterComponents();
        }

        public override Tensor forward(Tensor input)
        {
            if (is_grad_enabled() || input.requires_grad)
                throw new InvalidOperationException("The forward pass ran with gradients enabled.");
            return inner.forward(input);
        }
    }

    static float[] Values(Tensor t) => t.to_type(ScalarType.Float32).contiguous().data<float>().ToArray();

    static void AssertPixelsValid(FoolingResult result)
    {
        Assert.True(result.Images.min().item<float>() >= 0 && result.Images.max().item<float>() <= 1, "pixels left [0,1]");
    }

    /// <summary>The reported confidences are the model's softmax of each image's class, and the last entry of the history.</summary>
    static void AssertConfidencesAreTheModels(VisionModel model, FoolingResult result)
    {
        var probabilities = model.Probabilities(result.Images).cpu();
        for (int i = 0; i < result.Classes.Count; i++)
        {
            float expected = probabilities[i, result.Classes[i]].item<float>();
            Assert.Equal(expected, result.Confidence[i].item<float>(), 5);
            Assert.Equal(expected, result.History[^1][i], 4);
        }
    }

    /// <summary>ReachedAt is the first entry of the history at or above the goal.</summary>
    static void AssertReachedAtMatchesHistory(FoolingResult result)
    {
        for (int i = 0; i < result.Classes.Count; i++)
        {
            int first = result.History.Select((h, step) => (h, step)).Where(x => x.h[i] >= result.Goal).Select(x => x.step).DefaultIfEmpty(-1).First();
            Assert.Equal(first < 0 ? null : first, result.ReachedAt[i]);
        }
    }

    [Fact]
    public void EvolutionNeverComputesAGradient()
    {
        using var guarded = LinearToy(network => new ForbidGradients(network));
        foreach (var encoding in new[] { GenomeEncoding.Direct, GenomeEncoding.LowResolution, GenomeEncoding.Cppn })
        {
            using var result = FoolingImages.ByEvolution(guarded, [0, 1], new EvolutionOptions(Generations: 5, Population: 8, Encoding: encoding, GenomeSize: 2));
            Assert.Equal(5, result.Steps);
        }
        // The guard works: gradient ascent needs gradients and is stopped by it.
        Assert.Throws<InvalidOperationException>(() => FoolingImages.ByGradientAscent(guarded, [0], new GradientFoolingOptions(Steps: 1)));
    }

    [Fact]
    public void EvolutionFindsTheKnownOptimumOfALinearModel()
    {
        using var model = LinearToy();
        using var result = FoolingImages.ByEvolution(model, [0], new EvolutionOptions(Generations: 150, Population: 40, MutationRate: 0.2, Seed: 4));
        Assert.Null(result.ReachedAt[0]);             // 99 % is out of reach, so the search runs to the end
        Assert.Equal(150, result.Steps);
        Assert.Equal(Values(LinearOptimum()), Values(result.Images.round()));
        Assert.InRange(result.Confidence[0].item<float>(), LinearBest - 0.01, LinearBest + 1e-5);
        AssertConfidencesAreTheModels(model, result);
    }

    [Fact]
    public void LowResolutionGenomeOfOnePixelFindsTheBestUniformImage()
    {
        // A 1 x 1 genome is a uniform image v; its score is v Σw with Σw = +0.1 > 0, so the best uniform image is white: sigmoid(0.1).
        Assert.Equal(0.1, LinearWeights.Sum(), 5);
        using var model = LinearToy();
        using var result = FoolingImages.ByEvolution(model, [0], new EvolutionOptions(Generations: 100, Population: 20, Encoding: GenomeEncoding.LowResolution, GenomeSize: 1));
        Assert.True(result.Images.eq(result.Images[0, 0, 0, 0]).all().item<bool>(), "a 1 x 1 genome must render as a uniform image");
        Assert.InRange(result.Images.min().item<float>(), 0.98f, 1f);
        Assert.InRange(result.Confidence[0].item<float>(), Sigmoid(0.098), Sigmoid(0.1) + 1e-6);
    }

    /// <summary>
    /// A two-class model on 1 x 4 x 4 images: the score of class 0 is the sum of the left two columns minus the sum of the
    /// right two; class 1 always scores 0. The best image is white on the left and black on the right, p = sigmoid(8) ≈ 0.99966;
    /// a CPPN draws it with one steep sigmoid of x.
    /// </summary>
    static VisionModel LeftRightToy()
    {
        var linear = nn.Linear(16, 2);
        using (no_grad())
        {
            linear.weight!.zero_();
            linear.bias!.zero_();
            linear.weight[0] = tensor(Enumerable.Range(0, 16).Select(i => i % 4 < 2 ? 1f : -1f).ToArray());
        }
        return new VisionModel("left-right-toy", "toy", nn.Sequential(("flatten", nn.Flatten()), ("linear", linear)),
            new InputSpec(1, 4, 4, [0f], [1f]), ["left", "zero"], null, CPU);
    }

    [Fact]
    public void CppnEvolutionFindsTheKnownOptimumOfALeftRightModel()
    {
        using var model = LeftRightToy();
        // A goal above the optimum, so that the search runs to the end.
        using var result = FoolingImages.ByEvolution(model, [0], new EvolutionOptions(Generations: 100, Population: 30, MutationRate: 0.2,
            MutationStrength: 0.5, Encoding: GenomeEncoding.Cppn, Goal: 0.9999, Seed: 1));
        Assert.Equal(100, result.Steps);
        output.WriteLine($"confidence {result.Confidence[0].item<float>():F6}, image {string.Join(" ", Values(result.Images).Select(v => v.ToString("F3")))}");
        float[] optimum = [.. Enumerable.Range(0, 16).Select(i => i % 4 < 2 ? 1f : 0f)];
        Assert.Equal(optimum, Values(result.Images.round()));
        Assert.InRange(result.Confidence[0].item<float>(), Sigmoid(7.5), Sigmoid(8) + 1e-6);
        AssertConfidencesAreTheModels(model, result);
        AssertPixelsValid(result);
    }

    [Fact]
    public void GradientAscentFindsTheKnownOptimumOfALinearModel()
    {
        using var model = LinearToy();
        using var result = FoolingImages.ByGradientAscent(model, [0], new GradientFoolingOptions(Steps: 60, StepSize: 0.05));
        Assert.Equal(60, result.Steps);
        Assert.Equal(Values(LinearOptimum()), Values(result.Images));   // clamped exactly at 0 and 1
        Assert.Equal(LinearBest, result.Confidence[0].item<float>(), 5);
        AssertConfidencesAreTheModels(model, result);
    }

    [Theory]
    [InlineData(GenomeEncoding.Direct)]
    [InlineData(GenomeEncoding.Cppn)]
    public void EliteConfidenceNeverDecreases(GenomeEncoding encoding)
    {
        using var model = ModelRegistry.Load("fashion-cnn");
        using var result = FoolingImages.ByEvolution(model, AllTen, new EvolutionOptions(Generations: 15, Population: 30, Encoding: encoding, Goal: 0.9999, Seed: 3));
        for (int step = 1; step < result.History.Count; step++)
            for (int i = 0; i < AllTen.Length; i++)
                Assert.True(result.History[step][i] >= result.History[step - 1][i], $"class {i} fell at generation {step}");
        Assert.True(result.History[^1].Sum() > result.History[0].Sum(), "15 generations should improve some class");
        AssertConfidencesAreTheModels(model, result);
        AssertReachedAtMatchesHistory(result);
    }

    [Fact]
    public void FoolsFashionCnnAtNinetyNinePercent()
    {
        using var model = ModelRegistry.Load("fashion-cnn");
        using var gradient = FoolingImages.ByGradientAscent(model, AllTen, new GradientFoolingOptions(Steps: 100));
        // Evolution is slow on a loaded test machine: a few classes that it reaches early in the notebook's runs.
        using var smooth = FoolingImages.ByEvolution(model, [0, 1, 8], new EvolutionOptions(Generations: 150, Population: 30, MutationRate: 0.2, Encoding: GenomeEncoding.LowResolution));
        using var direct = FoolingImages.ByEvolution(model, [6, 8], new EvolutionOptions(Generations: 150, Population: 30, MutationRate: 0.05));
        using var cppn = FoolingImages.ByEvolution(model, [0, 1, 5, 8, 9], new EvolutionOptions(Generations: 100, Population: 40, MutationRate: 0.2, MutationStrength: 0.5, Encoding: GenomeEncoding.Cppn));
        foreach (var (name, result) in new[] { ("gradient ascent (steps)", gradient), ("evolution, low resolution (generations)", smooth), ("evolution, direct (generations)", direct), ("evolution, CPPN (generations)", cppn) })
        {
            output.WriteLine($"{name}: {result.ClassesReached}/{result.Classes.Count} at 99 %, all by {result.AllReachedAt}, per class [{string.Join(", ", result.ReachedAt)}], {result.ForwardPasses} images through the network");
            Assert.Equal(result.Classes.Count, result.ClassesReached);
            Assert.Equal(result.AllReachedAt, result.Steps);   // stops as soon as the last class is there
            Assert.True(result.Confidence.ge(0.99).all().item<bool>());
            Assert.Equal(new long[] { result.Classes.Count, 1, 28, 28 }, result.Images.shape);
            AssertPixelsValid(result);
            AssertConfidencesAreTheModels(model, result);
            AssertReachedAtMatchesHistory(result);
        }
    }

    [Fact]
    public void SameSeedSameImages()
    {
        using var model = ModelRegistry.Load("fashion-cnn");
        int[] classes = [2, 7];
        var options = new EvolutionOptions(Generations: 5, Population: 10, Seed: 9);
        using var first = FoolingImages.ByEvolution(model, classes, options);
        using var second = FoolingImages.ByEvolution(model, classes, options);
        Assert.True(first.Images.eq(second.Images).all().item<bool>());
        using var other = FoolingImages.ByEvolution(model, classes, options with { Seed = 10 });
        Assert.False(first.Images.eq(other.Images).all().item<bool>());
        var cppn = options with { Encoding = GenomeEncoding.Cppn };
        using var cppnFirst = FoolingImages.ByEvolution(model, classes, cppn);
        using var cppnSecond = FoolingImages.ByEvolution(model, classes, cppn);
        Assert.True(cppnFirst.Images.eq(cppnSecond.Images).all().item<bool>());
        using var cppnOther = FoolingImages.ByEvolution(model, classes, cppn with { Seed = 10 });
        Assert.False(cppnFirst.Images.eq(cppnOther.Images).all().item<bool>());

        var gradientOptions = new GradientFoolingOptions(Steps: 3, Seed: 9);
        using var a = FoolingImages.ByGradientAscent(model, classes, gradientOptions);
        using var b = FoolingImages.ByGradientAscent(model, classes, gradientOptions);
        Assert.True(a.Images.eq(b.Images).all().item<bool>());
        using var c = FoolingImages.ByGradientAscent(model, classes, gradientOptions with { Seed = 10 });
        Assert.False(a.Images.eq(c.Images).all().item<bool>());
    }

    [Fact]
    public void ZeroStepsReturnTheStartAndCountItsCost()
    {
        using var model = ModelRegistry.Load("fashion-cnn");
        using var noise = FoolingImages.ByGradientAscent(model, [0, 1, 2], new GradientFoolingOptions(Steps: 0, Seed: 5));
        Assert.Equal(Values(rand(new long[] { 3, 1, 28, 28 }, generator: new Generator(5))), Values(noise.Images));
        Assert.Equal(0, noise.ForwardPasses);
        Assert.Single(noise.History);
        using var start = FoolingImages.ByEvolution(model, [0, 1, 2], new EvolutionOptions(Generations: 0, Population: 12));
        Assert.Equal(12, start.ForwardPasses);
        Assert.Single(start.History);
        AssertConfidencesAreTheModels(model, start);
    }

    [Fact]
    public void BadRequestsGiveClearErrors()
    {
        using var model = LinearToy();
        var generations = Assert.Throws<ArgumentOutOfRangeException>(() => FoolingImages.ByEvolution(model, [0], new EvolutionOptions(Generations: -1)));
        Assert.Contains("cannot be negative", generations.Message);
        var population = Assert.Throws<ArgumentOutOfRangeException>(() => FoolingImages.ByEvolution(model, [0], new EvolutionOptions(Population: 1)));
        Assert.Contains("at least 2", population.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => FoolingImages.ByEvolution(model, [0], new EvolutionOptions(MutationRate: 0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => FoolingImages.ByEvolution(model, [0], new EvolutionOptions(MutationStrength: double.NaN)));
        var genome = Assert.Throws<ArgumentOutOfRangeException>(() => FoolingImages.ByEvolution(model, [0], new EvolutionOptions(Encoding: GenomeEncoding.LowResolution, GenomeSize: 5)));
        Assert.Contains("1 to 4", genome.Message);
        var layout = Assert.Throws<ArgumentOutOfRangeException>(() => FoolingImages.ByEvolution(model, [0], new EvolutionOptions(Encoding: GenomeEncoding.Cppn) { Cppn = new Cppn(HiddenLayers: 0) }));
        Assert.Contains("at least one hidden layer", layout.Message);
        var goal = Assert.Throws<ArgumentOutOfRangeException>(() => FoolingImages.ByEvolution(model, [0], new EvolutionOptions(Goal: 99)));
        Assert.Contains("between 0 and 1", goal.Message);
        var range = Assert.Throws<ArgumentOutOfRangeException>(() => FoolingImages.ByEvolution(model, [2]));
        Assert.Contains("classes 0 to 1", range.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => FoolingImages.ByGradientAscent(model, [-1]));
        Assert.Contains("only once", Assert.Throws<ArgumentException>(() => FoolingImages.ByEvolution(model, [1, 1])).Message);
        Assert.Contains("at least one class", Assert.Throws<ArgumentException>(() => FoolingImages.ByGradientAscent(model, [])).Message);
        Assert.Contains("0 or more", Assert.Throws<ArgumentOutOfRangeException>(() => FoolingImages.ByGradientAscent(model, [0], new GradientFoolingOptions(Steps: -3))).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => FoolingImages.ByGradientAscent(model, [0], new GradientFoolingOptions(StepSize: 0)));
    }

    [Fact]
    public void RunsOnResNet18ForASubsetOfClasses()
    {
        using var model = TorchVisionModels.CreateUntrained("resnet18");
        int[] classes = [1, 500, 999];
        using var direct = FoolingImages.ByEvolution(model, classes, new EvolutionOptions(Generations: 2, Population: 4));
        using var smooth = FoolingImages.ByEvolution(model, classes, new EvolutionOptions(Generations: 1, Population: 3, Encoding: GenomeEncoding.LowResolution, GenomeSize: 14));
        using var gradient = FoolingImages.ByGradientAscent(model, classes, new GradientFoolingOptions(Steps: 2));
        using var cppn = FoolingImages.ByEvolution(model, classes, new EvolutionOptions(Generations: 1, Population: 3, Encoding: GenomeEncoding.Cppn));
        foreach (var result in new[] { direct, smooth, gradient, cppn })
        {
            Assert.Equal(new long[] { 3, 3, 224, 224 }, result.Images.shape);
            Assert.Equal(new long[] { 3 }, result.Confidence.shape);
            Assert.All(result.History, h => Assert.Equal(3, h.Length));
            AssertPixelsValid(result);
            AssertConfidencesAreTheModels(model, result);
        }
        Assert.Equal(4 * 3, direct.ForwardPasses);
        Assert.Equal(3 * 2, gradient.ForwardPasses);
        // Bilinear enlargement of a 14 x 14 genome: neighbouring pixels differ far less than in noise.
        var step = (smooth.Images[.., .., .., 1..] - smooth.Images[.., .., .., ..^1]).abs().mean().item<float>();
        Assert.True(step < 0.05f, $"mean neighbour difference {step}");
    }
    [Fact]
    public void Correlation_with_class_means_compares_each_image_with_each_class_average()
    {
        using var scope = NewDisposeScope();
        // Class 0: two images whose mean is 1 0 / 0 0 (bright top left); class 1: one image 0 0 / 0 1 (bright bottom right).
        var images = tensor(new float[] { 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 }).reshape(3, 1, 2, 2);
        var labels = tensor(new long[] { 0, 0, 1 });
        // The fooling image 3 1 / 1 1 is bright at the top left: centred 1.5, −0.5, −0.5, −0.5 against the class-0 mean's
        // 0.75, −0.25, −0.25, −0.25: ρ = 1; against class 1's −0.25, −0.25, −0.25, 0.75: (−0.375 + 0.125 + 0.125 − 0.375) / (√3 · √0.75) = −1/3.
        var fooling = tensor(new float[] { 3, 1, 1, 1, 0, 1, 1, 0 }).reshape(2, 1, 2, 2);
        var correlation = FoolingImages.CorrelationWithClassMeans(fooling, images, labels, 2);
        Assert.Equal(new long[] { 2, 2 }, correlation.shape);
        Assert.Equal(1f, correlation[0, 0].item<float>(), 5);
        Assert.Equal(-1f / 3, correlation[0, 1].item<float>(), 5);
        // 0 1 / 1 0 is bright off the diagonal: centred −0.5, 0.5, 0.5, −0.5, ρ = −0.5 / (1 · √0.75) = −1/√3 with either class's mean.
        Assert.Equal(-1 / Math.Sqrt(3), correlation[1, 0].item<float>(), 5);
        Assert.Equal(-1 / Math.Sqrt(3), correlation[1, 1].item<float>(), 5);
    }
}
