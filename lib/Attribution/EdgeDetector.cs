using TorchSharp;
using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Attribution;

/// <summary>
/// Not an explanation at all: the strength of the image's edges (Sobel), computed from the pixels alone. It has the
/// shape of an attribution method so that it can stand beside them, as the control of Adebayo et al.'s sanity checks:
/// it never runs the model, so randomising the model cannot change it, and a method whose maps look like it and stay
/// like it when the model is randomised is showing the image, not the model. Notebook 18.
/// </summary>
public sealed class EdgeDetector(VisionModel model) : IAttribution
{
    /// <summary>The model, only to check the images against; it is never run.</summary>
    public VisionModel Model => model;

    /// <summary>
    /// N x C x H x W on the CPU, non-negative: for each channel, √(gx² + gy²) of the 3 x 3 Sobel derivatives across and
    /// down the image, edges replicated at the border. <paramref name="targets"/> are checked but do not matter.
    /// </summary>
    public Tensor Attribute(Tensor pixels, Targets targets)
    {
        model.CheckInput(pixels);
        targets.CheckClasses(model, pixels.shape[0]);
        using var scope = NewDisposeScope();
        var images = pixels.detach().cpu().to_type(ScalarType.Float32);
        long channels = images.shape[1];
        var across = tensor(new float[,] { { -1, 0, 1 }, { -2, 0, 2 }, { -1, 0, 1 } });
        var kernels = stack([across, across.T]).unsqueeze(1).repeat(channels, 1, 1, 1);   // 2C x 1 x 3 x 3: gx and gy per channel
        var padded = nn.functional.pad(images, [1, 1, 1, 1], PaddingModes.Replicate);
        var derivatives = nn.functional.conv2d(padded, kernels, groups: channels);       // N x 2C x H x W, channel c's pair together
        var pairs = derivatives.reshape(images.shape[0], channels, 2, images.shape[2], images.shape[3]);
        return pairs.pow(2).sum(2).sqrt().MoveToOuterDisposeScope();
    }
}
