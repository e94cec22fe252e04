using WhatNetworksLearn.Adversarial;
using WhatNetworksLearn.Data;
using WhatNetworksLearn.Models;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

/// <summary>
/// Carlini–Wagner L2 on linear models, where the smallest change that reaches a class is known in closed form: the
/// distance to a hyperplane. (What every attack keeps, budget aside, is in AttackContractTests.)
/// </summary>
public class CarliniWagnerTests(ITestOutputHelper output)
{
    /// <summary>
    /// How close to the boundary a run of Adam's discrete steps gets, beyond 1 %: with the default learning rate, the
    /// first steps move a mid-grey pixel by about 0.025, so on these 16-pixel images a few thousandths of L2 remain.
    /// </summary>
    const double Granularity = 0.005;

    /// <summary>The Euclidean length of each image's change.</summary>
    static float[] Lengths(AttackResult result) => result.Perturbation.flatten(1).norm(1).data<float>().ToArray();

    [Theory]
    [InlineData(0.0)]
    [InlineData(2.0)]
    public void Targeted_on_a_two_class_linear_model_the_change_is_the_distance_to_the_boundary_plus_the_confidence(double confidence)
    {
        // Scores (a · x + b, 0) on 4 x 4 images. Each image is a point c of the boundary a · x + b = 0 (near grey) moved by
        // t along the unit normal â: its class is 0 for t > 0, 1 for t < 0. The smallest change that makes the other
        // class lead by κ crosses the boundary and κ / ‖a‖ beyond it, straight along â: length |t| + κ / ‖a‖.
        using var scope = NewDisposeScope();
        var random = new Generator(11);
        var a = randn(16, generator: random);
        double norm = a.norm().item<float>();
        var b = -(a * 0.5f).sum();
        var unit = a / norm;
        double[] offsets = [0.25, -0.2, 0.15, -0.1, 0.05, -0.03];
        var near = 0.48 + 0.04 * rand(offsets.Length, 16, generator: random);
        var onBoundary = near - ((near.matmul(a) + b) / (norm * norm)).unsqueeze(1) * a;
        var images = (onBoundary + tensor(offsets, ScalarType.Float32).unsqueeze(1) * unit).reshape(offsets.Length, 1, 4, 4);
        Assert.True(images.min().item<float>() > 0.1 && images.max().item<float>() < 0.9, "the closest points must lie inside [0,1]");
        using var model = ToyModels.Linear(stack([a, zeros(16)]), stack([b, tensor(0f)]), 4, 4);
        var labels = tensor(offsets.Select(t => t > 0 ? 0L : 1L).ToArray());
        var targets = Targets.PerImage(offsets.Select(t => t > 0 ? 1 : 0).ToArray());

        using var result = new CarliniWagner(model, new CarliniWagnerOptions(Confidence: confidence)).Run(images, labels, targets);

        Assert.True(result.Success.all().item<bool>());
        var lengths = Lengths(result);
        for (int i = 0; i < offsets.Length; i++)
        {
            double smallest = Math.Abs(offsets[i]) + confidence / norm;
            output.WriteLine($"image {i}: change {lengths[i]:F5}, smallest possible {smallest:F5}");
            Assert.True(lengths[i] >= smallest - 1e-4, $"image {i}: {lengths[i]} is below the distance {smallest}: the example cannot be adversarial");
            Assert.True(lengths[i] <= smallest * 1.01 + Granularity, $"image {i}: {lengths[i]} is far above the smallest change {smallest}");
        }
    }

    [Fact]
    public void Untargeted_on_a_three_class_linear_model_the_change_is_the_distance_to_the_nearest_boundary()
    {
        // Class y's region is where s_y ≥ s_j for all j: an intersection of half-spaces, so the way out is through the
        // nearest of its faces, at distance min_j (s_y − s_j) / ‖a_y − a_j‖. The rows a_k are orthogonal and equally long,
        // so every ‖a_y − a_j‖ is the same and the nearest face is that of the best other class, the one CW's f pushes
        // towards. (CW is a local method: with unequal rows it can stop at that class's face when another is nearer.)
        using var scope = NewDisposeScope();
        var random = new Generator(5);
        var directions = randn(3, 16, generator: random);
        directions -= directions.mean([1], keepdim: true);                  // rows sum to 0: on mid-grey all classes tie
        var weights = 4 * linalg.qr(directions.T).Q.T;                       // orthonormal rows in the same span, times 4
        using var model = ToyModels.Linear(weights, zeros(3), 4, 4);
        (Tensor Labels, Tensor Nearest, Tensor Foot) Nearest(Tensor pixels)
        {
            long n = pixels.shape[0];
            var scores = pixels.matmul(weights.T);
            var labels = scores.argmax(1);
            var normals = weights[labels].unsqueeze(1) - weights.unsqueeze(0);                   // n x 3 x 16: a_y − a_j
            var gaps = (scores.gather(1, labels.unsqueeze(1)) - scores) / normals.norm(2);     // n x 3; NaN for y itself
            var (nearest, face) = gaps.masked_fill(gaps.isnan(), double.PositiveInfinity).min(1);
            var normal = normals[arange(n), face];
            return (labels, nearest, pixels - nearest.unsqueeze(1) * normal / normal.norm(1, keepdim: true));
        }
        // Of 64 random images near grey, the 8 farthest from every boundary, so that the distances are not all tiny.
        var candidates = 0.5 + 0.2 * (rand(64, 16, generator: random) * 2 - 1);
        var pixels = candidates[Nearest(candidates).Nearest.topk(8).indexes];
        var (labels, nearest, foot) = Nearest(pixels);
        Assert.True(foot.min().item<float>() > 0 && foot.max().item<float>() < 1, "the closest points must lie inside [0,1]");
        var smallest = nearest.data<float>().ToArray();
        var images = pixels.reshape(8, 1, 4, 4);

        using var result = new CarliniWagner(model).Run(images, labels);

        Assert.True(result.Success.all().item<bool>());
        var lengths = Lengths(result);
        for (int i = 0; i < 8; i++)
        {
            output.WriteLine($"image {i}: change {lengths[i]:F5}, distance to the nearest boundary {smallest[i]:F5}");
            Assert.True(lengths[i] >= smallest[i] - 1e-4, $"image {i}: {lengths[i]} is below the distance {smallest[i]}");
            Assert.True(lengths[i] <= smallest[i] * 1.01 + Granularity, $"image {i}: {lengths[i]} is far above the distance {smallest[i]}");
        }
    }

    [Fact]
    public void An_image_that_is_never_reached_comes_back_unchanged()
    {
        // c so small and one step: the distance term wins, the goal is never reached.
        using var model = FashionCnn.Load(CPU);
        using var sample = FashionMnist.LoadSample(2);
        using var result = new CarliniWagner(model, new CarliniWagnerOptions(InitialConstant: 1e-9, SearchSteps: 1, Steps: 1)).Run(sample.Images, sample.Labels, targets: 8);
        Assert.False(result.Success.any().item<bool>());
        Assert.True(result.Perturbation.eq(0).all().item<bool>());
    }

    [Fact]
    public void The_confidence_raises_the_targets_lead_to_at_least_kappa_at_the_price_of_a_longer_change()
    {
        using var model = FashionCnn.Load(CPU);
        using var sample = FashionMnist.LoadSample(4);
        var targets = Targets.PerImage([8, 1, 9, 5]);
        using var goal = targets.ForBatch(4);
        float[] Leads(AttackResult result)
        {
            using var noGrad = no_grad();
            using var scores = model.Forward(result.Adversarial);
            using var target = scores.gather(1, goal.unsqueeze(1)).squeeze(1);
            using var isTarget = nn.functional.one_hot(goal, scores.shape[1]).to_type(ScalarType.Bool);
            using var others = scores.masked_fill(isTarget, float.NegativeInfinity);
            using var lead = target - others.amax(1);
            return lead.data<float>().ToArray();
        }
        using var plain = new CarliniWagner(model).Run(sample.Images, sample.Labels, targets);
        using var confident = new CarliniWagner(model, new CarliniWagnerOptions(Confidence: 5)).Run(sample.Images, sample.Labels, targets);
        Assert.True(plain.Success.all().item<bool>() && confident.Success.all().item<bool>());
        var (plainLeads, confidentLeads) = (Leads(plain), Leads(confident));
        var (plainLengths, confidentLengths) = (Lengths(plain), Lengths(confident));
        for (int i = 0; i < 4; i++)
        {
            output.WriteLine($"image {i}: lead κ = 0 {plainLeads[i]:F2}, κ = 5 {confidentLeads[i]:F2}; length {plainLengths[i]:F3} and {confidentLengths[i]:F3}");
            Assert.True(plainLeads[i] > 0 && plainLeads[i] < 1, $"image {i}: with κ = 0 the target should lead just past the boundary; it leads by {plainLeads[i]}");
            Assert.True(confidentLeads[i] >= 5 - 1e-3, $"image {i}: with κ = 5 the target leads by only {confidentLeads[i]}");
            Assert.True(confidentLengths[i] > plainLengths[i], $"image {i}: the confident change {confidentLengths[i]} is not longer than {plainLengths[i]}");
        }
    }

    [Fact]
    public void On_fashion_cnn_it_reaches_each_images_own_target_with_a_shorter_change_than_pgd()
    {
        using var model = FashionCnn.Load(CPU);
        using var sample = FashionMnist.LoadSample(6);
        var targets = Targets.PerImage([1, 8, 5, 0, 3, 9]);
        using var expected = tensor(new long[] { 1, 8, 5, 0, 3, 9 });
        using var carliniWagner = new CarliniWagner(model).Run(sample.Images, sample.Labels, targets);
        using var pgd = new Pgd(model, new PgdOptions(0.1, 0.01, 40)).Run(sample.Images, sample.Labels, targets);
        Assert.True(SynthesisTests.Identical(carliniWagner.AdversarialPrediction, expected));
        Assert.True(pgd.Success.all().item<bool>(), "PGD at ε = 0.1 should reach these targets too");
        var (cw, l2) = (Lengths(carliniWagner), Lengths(pgd));
        output.WriteLine($"L2 of the change, CW: {string.Join(", ", cw.Select(v => v.ToString("F2")))}; PGD: {string.Join(", ", l2.Select(v => v.ToString("F2")))}");
        for (int i = 0; i < cw.Length; i++)
            Assert.True(cw[i] < l2[i], $"image {i}: CW's change {cw[i]} is not shorter than PGD's {l2[i]}");
        Assert.True(cw.Sum() < 0.75 * l2.Sum(), $"CW's changes add up to {cw.Sum()}, PGD's to {l2.Sum()}");
    }
}
