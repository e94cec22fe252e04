using Microsoft.ML.OnnxRuntime;
using TorchSharp;
using TorchSharp.Modules;
using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace Benchmarks;

/// <summary>
/// Forward passes without gradients, the building block of occlusion, one-pixel populations, evolution and top-patch
/// scans: TorchVision's ResNet-18 (random weights, against PyTorch), and the ImageNet trunk of ML.NET's ONNX files
/// against ONNX Runtime running the same files, the anchor for forward-only work.
/// </summary>
public sealed class ForwardPasses : IDisposable
{
    const int Images = 8;
    readonly VisionModel resnet;
    readonly VisionModel trunk = ModelRegistry.Load(ModelRegistry.TrunkName, CPU);
    readonly Tensor photos;
    readonly InferenceSession preprocessing, network;
    readonly OrtValue[] inputs;
    readonly RunOptions options = new();

    public ForwardPasses()
    {
        manual_seed(0);
        resnet = TorchVisionModels.CreateUntrained("resnet18", CPU);
        photos = rand(Images, 3, 224, 224);
        // ONNX Runtime as ML.NET uses it: 2 threads, one 1 x 3 x 224 x 224 image per call (the files fix the batch),
        // pixels scaled to 0..255 before the preprocessing graph, then the trunk.
        using var sessionOptions = new SessionOptions { IntraOpNumThreads = 2, InterOpNumThreads = 1 };
        preprocessing = new InferenceSession(ImageNetTrunk.PreprocessingPath, sessionOptions);
        network = new InferenceSession(ImageNetTrunk.TrunkPath, sessionOptions);
        inputs = Enumerable.Range(0, Images).Select(i =>
        {
            using var scaled = (photos[i] * 255f).contiguous();
            return OrtValue.CreateTensorValueFromMemory(scaled.data<float>().ToArray(), [1, 3, 224, 224]);
        }).ToArray();
    }

    public IReadOnlyList<Workload> All() =>
    [
        new("ResNet-18 forward", "8 images 224 x 224, no gradients", () => Forward(resnet)),
        new("trunk forward", "8 images 224 x 224, no gradients, kit", () => Forward(trunk)),
        new("trunk forward", "8 images 224 x 224, no gradients, kit with every layer unfolded", ForwardUnfolded),
        new("trunk forward", "8 images 224 x 224, ONNX Runtime 1.31 (2 threads, 8 calls of one image)", () =>
        {
            foreach (var input in inputs)
            {
                using var normalised = preprocessing.Run(options, [preprocessing.InputNames[0]], [input], [preprocessing.OutputNames[0]]);
                using var features = network.Run(options, [network.InputNames[0]], [normalised[0]], [network.OutputNames[0]]);
            }
        }),
    ];

    void Forward(VisionModel model)
    {
        using var noGrad = no_grad();
        model.Forward(photos).Dispose();
    }

    /// <summary>The trunk as it runs when every convolution is watched: a do-nothing hook keeps each layer as itself.</summary>
    void ForwardUnfolded()
    {
        var removers = trunk.LayerNames.Select(trunk.Layer).OfType<Conv2d>().Select(conv => conv.register_forward_hook((_, _, y) => y)).ToList();
        try
        {
            Forward(trunk);
        }
        finally
        {
            foreach (var remover in removers)
                remover.remove();
        }
    }

    public void Dispose()
    {
        resnet.Dispose();
        trunk.Dispose();
        photos.Dispose();
        foreach (var input in inputs)
            input.Dispose();
        preprocessing.Dispose();
        network.Dispose();
        options.Dispose();
    }
}
