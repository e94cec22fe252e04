using TorchSharp;
using WhatNetworksLearn.Attribution;
using WhatNetworksLearn.Data;
using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

public class GradCamTests
{
    /// <summary>
    /// A 2 x 2 image (¼, ½, ¾, 1) through a 1 x 1 convolution with two channels, A1 = 4x and A2 = 8x − 5, so
    /// A1 = (1, 2, 3, 4) and A2 = 2 A1 − 5 = (−3, −1, 1, 3), then a linear layer:
    /// score 0 = A1[0,0] + A1[1,1] − (sum of A2), score 1 = 4 A2[1,1]. Everything Grad-CAM does can be done by hand.
    /// </summary>
    static VisionModel HandModel()
    {
        var conv = nn.Conv2d(1, 2, 1);
        var linear = nn.Linear(8, 2, hasBias: false);
        using (no_grad())
        {
            conv.weight!.copy_(tensor(new float[] { 4, 8 }).reshape(2, 1, 1, 1));
            conv.bias!.copy_(tensor(new float[] { 0, -5 }));
            // Flattened N x 2 x 2 x 2 is channel-major: A1's four positions, then A2's.
            linear.weight!.copy_(tensor(new float[,] { { 1, 0, 0, 1, -1, -1, -1, -1 }, { 0, 0, 0, 0, 0, 0, 0, 4 } }));
        }
        var network = nn.Sequential(("conv", conv), ("flatten", nn.Flatten()), ("linear", linear));
        return new VisionModel("hand", "toy", network, new InputSpec(1, 2, 2, [0f], [1f]), ["a", "b"], null, CPU);
    }

    static Tensor HandImage() => tensor(new float[] { 0.25f, 0.5f, 0.75f, 1 }).reshape(1, 1, 2, 2);

    [Fact]
    public void The_map_of_a_hand_built_model_is_the_hand_computed_one()
    {
        using var model = HandModel();
        using var image = HandImage();
        var gradCam = new GradCam(model, "conv");
        // Class 0: the score's gradient is 1, 0, 0, 1 on A1 (mean α1 = 0.5) and −1 everywhere on A2 (α2 = −1), so the map
        // is ReLU(0.5 A1 − (2 A1 − 5)) = ReLU(5 − 1.5 A1): 3.5, 2, 0.5, and 0 where 5 − 6 is negative.
        using var map0 = gradCam.Map(image, 0);
        Assert.Equal(new float[] { 3.5f, 2, 0.5f, 0 }, map0.flatten().data<float>().ToArray());
        // Class 1: α1 = 0, α2 = 4 / 4 = 1, so the map is ReLU(A2): 0, 0, 1, 3.
        using var map1 = gradCam.Map(image, 1);
        Assert.Equal(new float[] { 0, 0, 1, 3 }, map1.flatten().data<float>().ToArray());
        // One class per image in one batch gives each image its own class's map.
        using var both = gradCam.Map(cat([image, image]), Targets.PerImage([0, 1]));
        Assert.True(SynthesisTests.Identical(both[0], map0[0]) && SynthesisTests.Identical(both[1], map1[0]));
        // The map is already at the image's size here, so the attributions are the map itself.
        using var attributions = gradCam.Attribute(image, 0);
        Assert.Equal(new long[] { 1, 1, 2, 2 }, attributions.shape);
        Assert.True(SynthesisTests.Identical(attributions.flatten(), map0.flatten()));
    }

    [Fact]
    public void Grad_cam_plus_plus_of_the_hand_built_model_is_the_hand_computed_one()
    {
        using var model = HandModel();
        using var image = HandImage();
        var plusPlus = new GradCam(model, "conv", new GradCamPlusPlus());
        // α = g² / (2g² + ΣA g³), weight = Σ α ReLU(g). Class 0: on A1 (ΣA = 10) g = 1, 0, 0, 1: α = 1 / 12 where
        // g = 1 and 0 where g = 0, weight 2/12; on A2 (ΣA = 0) g = −1: ReLU(g) = 0, weight 0. Map ReLU(A1 / 6).
        using var map0 = plusPlus.Map(image, 0);
        Assert.True(map0.flatten().allclose(tensor(new float[] { 1, 2, 3, 4 }) / 6, atol: 1e-6));
        // Class 1: g = 4 at A2[1,1] only: α = 16 / 32, weight 2 (Grad-CAM's mean gives 1). Map ReLU(2 A2).
        using var map1 = plusPlus.Map(image, 1);
        Assert.Equal(new float[] { 0, 0, 2, 6 }, map1.flatten().data<float>().ToArray());
    }

    [Fact]
    public void Grad_cam_plus_plus_counts_only_positive_gradients_and_gives_no_weight_without_a_gradient()
    {
        // Map 0: A = (1, 3), g = (1, −2): α = 1 / (2 + 4) at the first position; the second has a negative gradient
        // and counts nothing. Map 1: A = (2, 0), g = (½, ½): α = ¼ / (½ + 2 · ⅛) = ⅓ at both, weight ⅓.
        // Map 2: no gradient at all (a 0 / 0 α): weight 0, not NaN. Map ReLU(⅙ A0 + ⅓ A1) = (⅚, ½).
        using var activations = tensor(new float[] { 1, 3, 2, 0, 5, 5 }).reshape(1, 3, 1, 2);
        using var gradients = tensor(new float[] { 1, -2, 0.5f, 0.5f, 0, 0 }).reshape(1, 3, 1, 2);
        using var weights = new GradCamPlusPlus().Weigh(activations, gradients);
        Assert.True(weights.flatten().allclose(tensor(new float[] { 1 / 6f, 1 / 3f, 0 }), atol: 1e-6));
        using var map = GradCam.FromActivations(activations, gradients, new GradCamPlusPlus());
        Assert.True(map.flatten().allclose(tensor(new float[] { 5 / 6f, 0.5f }), atol: 1e-6));
        // Grad-CAM's mean weights (−½, ½, 0) give (½, 0): the first map's negative gradient outweighs its positive one.
        using var gradCam = GradCam.FromActivations(activations, gradients);
        Assert.True(gradCam.flatten().allclose(tensor(new float[] { 0.5f, 0 }), atol: 1e-6));
    }

    [Fact]
    public void Guided_grad_cam_of_the_hand_built_model_is_the_gradient_times_the_map()
    {
        // No ReLU in the hand model, so the guided gradient is the plain one: d score 0 / dx = 4·(1, 0, 0, 1) + 8·(−1, −1, −1, −1)
        // = (−4, −8, −8, −4). Times the map (3.5, 2, 0.5, 0): (−14, −16, −4, 0).
        using var model = HandModel();
        using var image = HandImage();
        using var guided = new GuidedGradCam(model, "conv").Attribute(image, 0);
        Assert.Equal(new float[] { -14, -16, -4, 0 }, guided.flatten().data<float>().ToArray());
    }

    [Fact]
    public void On_resnet18_it_is_the_class_activation_map_its_global_pooling_implies()
    {
        // layer4 → global average pooling → fc: the score's gradient with respect to A_k(i, j) is w_ck / 49 at every position,
        // so Grad-CAM equals Zhou et al.'s class activation map ReLU(Σ_k w_ck A_k) / 49, computed here from the activations alone.
        manual_seed(3);
        using var model = TorchVisionModels.CreateUntrained("resnet18", CPU);
        using var photo = rand(1, 3, 224, 224, generator: new Generator(4));
        using var scope = NewDisposeScope();
        var activations = model.Activations(photo, "layer4")["layer4"];   // 1 x 512 x 7 x 7
        var weights = ((TorchSharp.Modules.Linear)model.Layer("fc")).weight!.detach();
        int withEvidence = 0;
        foreach (var target in new[] { 1, 281, 999, 4, 500 })
        {
            var cam = (weights[target].reshape(1, 512, 1, 1) * activations).sum(1).relu() / 49;
            var map = new GradCam(model, "layer4").Map(photo, target);
            Assert.Equal(new long[] { 1, 7, 7 }, map.shape);
            Assert.True(map.allclose(cam, rtol: 1e-4, atol: 1e-7), $"class {target}");
            withEvidence += map.gt(0).any().item<bool>() ? 1 : 0;
        }
        Assert.True(withEvidence >= 2, $"only {withEvidence} of the maps are not zero everywhere: the comparison says little");
        activations.Dispose();
    }

    [Theory]
    [InlineData("fashion-cnn", "relu3", 7)]
    [InlineData("resnet18", "layer4", 7)]
    [InlineData("vgg16", "features.29", 14)]
    [InlineData("alexnet", "features.11", 13)]
    public void Every_classifier_of_the_registry_gets_a_map_at_its_layers_resolution(string name, string layer, int side)
    {
        manual_seed(5);
        using var model = name == FashionCnn.Name ? FashionCnn.Load(CPU) : TorchVisionModels.CreateUntrained(name, CPU);
        using var scope = NewDisposeScope();
        var images = rand(2, model.Input.Channels, model.Input.Height, model.Input.Width, generator: new Generator(6));
        var gradCam = new GradCam(model, layer);
        var map = gradCam.Map(images, Targets.PerImage([0, 3]));
        Assert.Equal(new long[] { 2, side, side }, map.shape);
        Assert.True(map.isfinite().all().item<bool>() && map.ge(0).all().item<bool>());
        // Attributions are the map enlarged to the image, the same in every channel.
        var attributions = gradCam.Attribute(images, Targets.PerImage([0, 3]));
        Assert.Equal(images.shape, attributions.shape);
        var enlarged = GradCam.Enlarge(map, model.Input.Height, model.Input.Width);
        for (int c = 0; c < model.Input.Channels; c++)
            Assert.True(attributions[.., c].allclose(enlarged, rtol: 1e-5, atol: 1e-7));
        var guided = new GuidedGradCam(model, layer).Attribute(images, Targets.PerImage([0, 3]));
        Assert.Equal(images.shape, guided.shape);
        Assert.True(guided.eq(0).logical_or(attributions.gt(0)).all().item<bool>(), "guided Grad-CAM is zero wherever Grad-CAM is");
    }

    [Fact]
    public void The_trunk_without_classes_is_explained_by_its_feature_total()
    {
        using var trunk = ModelRegistry.Load(ModelRegistry.TrunkName, CPU);
        using var scope = NewDisposeScope();
        var photo = Images.Prepare(ImageFiles.Load(Kit.DataPath("images", "coffee.png")), trunk);
        var gradCam = new GradCam(trunk, "layer4.2.relu2");
        var map = gradCam.MapOfTotal(photo);
        Assert.Equal(new long[] { 1, 7, 7 }, map.shape);
        Assert.True(map.gt(0).any().item<bool>(), "the feature total has evidence somewhere in the photo");
        Assert.Throws<InvalidOperationException>(() => gradCam.Map(photo, 0));   // no classes: the error says to use a classifier
        var guided = new GuidedGradCam(trunk, "layer4.2.relu2").AttributeTotal(photo);
        Assert.Equal(photo.shape, guided.shape);
    }

    [Fact]
    public void A_layer_without_feature_maps_or_an_unknown_one_is_refused_with_what_to_pick()
    {
        using var model = FashionCnn.Load(CPU);
        using var image = full(1, 1, 28, 28, 0.5f);
        var flat = Assert.Throws<ArgumentException>(() => new GradCam(model, "fc1").Map(image, 0));
        Assert.Contains("convolutional layer", flat.Message);
        var unknown = Assert.Throws<ArgumentException>(() => new GradCam(model, "conv9").Map(image, 0));
        Assert.Contains("relu3", unknown.Message);
    }
}
