using WhatNetworksLearn.Adversarial;
using WhatNetworksLearn.Data;
using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

public class AttackTests
{
    [Fact]
    public void Fgsm_on_a_linear_model_moves_exactly_the_corner_pixels_by_epsilon()
    {
        using var model = ToyModels.CornerDetector();
        // Dim enough that the softmax is not saturated in float32 (corner score 8), so the gradient is not zero.
        using var image = full(1, 1, 8, 8, 0.2f);
        using var labels = tensor(new long[] { 0 });
        // Untargeted from "corner": the loss of class 0 falls as the corner brightens, so the corner darkens by ε.
        using var away = new Fgsm(model, new FgsmOptions(0.1)).Run(image, labels);
        using var expected = zeros(1, 1, 8, 8);
        expected[0, 0, 0..2, 0..2] = full(2, 2, -0.1f);
        Assert.True(away.Perturbation.allclose(expected, atol: 1e-6));
        // Targeted at "corner" from a label of "other": the corner brightens by ε.
        using var toward = new Fgsm(model, new FgsmOptions(0.1)).Run(image, tensor(new long[] { 1 }), targets: 0);
        Assert.True(toward.Perturbation.allclose(-expected, atol: 1e-6));
    }

    [Fact]
    public void Untargeted_attacks_lower_accuracy_pgd_more_than_fgsm()
    {
        using var model = FashionCnn.Load(CPU);
        using var sample = FashionMnist.LoadSample(limit: 200);
        double clean = Accuracy(model.Probabilities(sample.Images).argmax(1), sample.Labels);
        using var pgd = new Pgd(model, new PgdOptions(0.1, 0.01, 20)).Run(sample.Images, sample.Labels);
        using var fgsm = new Fgsm(model, new FgsmOptions(0.1)).Run(sample.Images, sample.Labels);
        Assert.True(clean > 0.8, $"clean accuracy {clean}");
        Assert.True(Accuracy(pgd.AdversarialPrediction, sample.Labels) < 0.2, $"PGD accuracy {Accuracy(pgd.AdversarialPrediction, sample.Labels)}");
        Assert.True(Accuracy(fgsm.AdversarialPrediction, sample.Labels) < clean - 0.2);
        Assert.True(Accuracy(pgd.AdversarialPrediction, sample.Labels) < Accuracy(fgsm.AdversarialPrediction, sample.Labels));
    }

    [Fact]
    public void Targeted_pgd_reaches_the_chosen_class_on_most_images()
    {
        using var model = FashionCnn.Load(CPU);
        using var sample = FashionMnist.LoadSample(limit: 200);
        int bag = model.ClassIndex("Bag");
        using var result = new Pgd(model, new PgdOptions(0.1, 0.01, 40)).Run(sample.Images, sample.Labels, bag);
        Assert.True(result.SuccessRate >= 0.9, $"success rate {result.SuccessRate}");
        Assert.True(Same(result.Success, result.AdversarialPrediction.eq(bag)));
    }

    [Fact]
    public void Bad_inputs_are_clear_errors()
    {
        using var model = ToyModels.CornerDetector();
        using var image = full(1, 1, 8, 8, 0.5f);
        using var labels = tensor(new long[] { 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new Fgsm(model, new FgsmOptions(-0.1)).Run(image, labels));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Pgd(model, new PgdOptions(-0.1)).Run(image, labels));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Pgd(model, new PgdOptions(Steps: -1)).Run(image, labels));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Pgd(model).Run(image, labels, targets: 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Fgsm(model).Run(image, tensor(new long[] { 5 })));
        Assert.Throws<ArgumentException>(() => new Fgsm(model).Run(image, tensor(new long[] { 0, 1 })));
        Assert.Throws<ArgumentException>(() => new Fgsm(model).Run(image + 0.6, labels));
        Assert.Throws<ArgumentException>(() => new Fgsm(model).Run(zeros(1, 3, 8, 8), labels));
    }

    [Fact]
    public void Works_on_an_imagenet_sized_network()
    {
        using var model = TorchVisionModels.CreateUntrained("resnet18", CPU);
        using var images = rand(2, 3, 224, 224, generator: new Generator(1));
        using var labels = tensor(new long[] { 1, 2 });
        using var result = new Pgd(model, new PgdOptions(0.03, 0.01, 2)).Run(images, labels, ImageNetClasses.Ostrich);
        Assert.Equal(new long[] { 2, 3, 224, 224 }, result.Adversarial.shape);
        Assert.Equal(new long[] { 2 }, result.AdversarialPrediction.shape);
        Assert.True(result.Perturbation.abs().max().item<float>() <= 0.03 + 1e-6);
        Assert.True(result.Adversarial.min().item<float>() >= 0 && result.Adversarial.max().item<float>() <= 1);
        Assert.True(model.Network.parameters().All(p => p.grad is null));
    }

    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    static double Accuracy(Tensor predictions, Tensor labels) => predictions.eq(labels).to_type(ScalarType.Float32).mean().item<float>();
}
