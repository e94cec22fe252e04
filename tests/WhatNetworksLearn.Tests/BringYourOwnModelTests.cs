using TorchSharp;
using TorchSharp.PyBridge;
using WhatNetworksLearn.Data;
using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

/// <summary>The README's "Bring your own model and image", call for call: a PyTorch state dict, wrapped as a VisionModel, and a photo.</summary>
public class BringYourOwnModelTests
{
    [Fact]
    public void A_pytorch_state_dict_and_a_photo_go_through_the_kit_as_the_readme_says()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("own-model-").FullName, "my-resnet18.pth");
        try
        {
            // Stands in for the user's torch.save(model.state_dict(), ...): PyBridge writes the same format.
            manual_seed(7);
            var theirs = torchvision.models.resnet18(num_classes: 3);
            theirs.save_py(file);

            var network = torchvision.models.resnet18(num_classes: 3);
            network.load_py(file);
            using var model = new VisionModel("my-resnet18", "ResNet-18 fine-tuned on three classes", network,
                new InputSpec(3, 224, 224, [0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]), ["cat", "dog", "fox"], embeddingLayer: "avgpool", CPU);
            using var photo = Images.Prepare(ImageFiles.Load(Kit.DataPath("images", "chelsea.png")), model);

            Assert.Equal([1L, 3, 224, 224], photo.shape);
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            theirs.eval();
            using var mean = tensor(new[] { 0.485f, 0.456f, 0.406f }).reshape(1, 3, 1, 1);
            using var std = tensor(new[] { 0.229f, 0.224f, 0.225f }).reshape(1, 3, 1, 1);
            using var expected = theirs.forward((photo - mean) / std);
            using var scores = model.Forward(photo);
            Assert.True(scores.allclose(expected, rtol: 1e-4, atol: 1e-5), "The wrapped model should give the scores of the network whose weights were saved.");
            var (cls, probability) = Assert.Single(model.Predict(photo));
            Assert.InRange(cls, 0, 2);
            Assert.InRange(probability, 1f / 3, 1f);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(file)!, recursive: true);
        }
    }
}
