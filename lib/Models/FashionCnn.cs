using TorchSharp;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Models;

/// <summary>
/// The kit's own small classifier for Fashion-MNIST (28 x 28 greyscale, 10 classes), trained by
/// <see cref="Training.FashionCnnTraining"/> and shipped in data/models/. Three convolution blocks, the first
/// with 5 x 5 kernels (big enough to look at), then a 256-unit hidden layer, the image's embedding.
/// Every ReLU is its own module so that hooks and modified backward rules reach it.
/// </summary>
public static class FashionCnn
{
    public const string Name = "fashion-cnn";
    /// <summary>The same network adversarially trained at ε = 0.1 (<see cref="Training.FashionCnnTraining"/>), shipped beside it.</summary>
    public const string RobustName = "fashion-cnn-robust";
    public const string EmbeddingLayer = "relu4";
    /// <summary>Mean and standard deviation of the Fashion-MNIST training pixels.</summary>
    public static readonly InputSpec Input = new(1, 28, 28, [0.2860f], [0.3530f]);

    /// <summary>A fresh, randomly initialised network (seeded by the caller through torch.manual_seed).</summary>
    public static nn.Module<Tensor, Tensor> Create() => nn.Sequential(
        ("conv1", nn.Conv2d(1, 32, 5, padding: 2)),
        ("bn1", nn.BatchNorm2d(32)),
        ("relu1", nn.ReLU()),
        ("pool1", nn.MaxPool2d(2)),              // 32 x 14 x 14
        ("conv2", nn.Conv2d(32, 64, 3, padding: 1)),
        ("bn2", nn.BatchNorm2d(64)),
        ("relu2", nn.ReLU()),
        ("pool2", nn.MaxPool2d(2)),              // 64 x 7 x 7
        ("conv3", nn.Conv2d(64, 128, 3, padding: 1)),
        ("bn3", nn.BatchNorm2d(128)),
        ("relu3", nn.ReLU()),
        ("pool3", nn.MaxPool2d(2)),              // 128 x 3 x 3
        ("flatten", nn.Flatten()),
        ("fc1", nn.Linear(128 * 3 * 3, 256)),
        ("relu4", nn.ReLU()),
        ("dropout", nn.Dropout(0.3)),
        ("fc2", nn.Linear(256, 10)));

    /// <summary>The trained model from data/models/, its file checked against the manifest's SHA-256.</summary>
    public static VisionModel Load(Device? device = null) => Load(ShippedWeights.Locate(Name), device);

    /// <summary>The adversarially trained model from data/models/ (<see cref="RobustName"/>), checked like <see cref="Load(Device?)"/>.</summary>
    public static VisionModel LoadRobust(Device? device = null) => Load(ShippedWeights.Locate(RobustName), device, RobustName);

    /// <summary>The model with weights from a given file (written by TorchSharp's module.save), under the registry name <paramref name="name"/>.</summary>
    public static VisionModel Load(string weightsPath, Device? device = null, string name = Name)
    {
        var network = Create();
        WeightFiles.LoadInto(network, weightsPath, name);
        return new VisionModel(name, Describe(name), network, Input, Data.FashionMnist.ClassNames, EmbeddingLayer, device);
    }

    internal static string Describe(string name) => name == RobustName
        ? "fashion-cnn adversarially trained by the kit at ε = 0.1 (L∞): robust, and its gradients look like garments"
        : "Small CNN trained by the kit on Fashion-MNIST (3 conv blocks, 5x5 first-layer filters)";
}
