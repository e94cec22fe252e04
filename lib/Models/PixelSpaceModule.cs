using TorchSharp;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Models;

/// <summary>
/// A network preceded by its input normalisation, so that it takes pixels in [0,1].
/// The inner network's layers keep their own names (no prefix), as users know them.
/// </summary>
public sealed class PixelSpaceModule : nn.Module<Tensor, Tensor>
{
    readonly Tensor mean;
    readonly Tensor std;
    readonly nn.Module<Tensor, Tensor> network;

    public PixelSpaceModule(nn.Module<Tensor, Tensor> network, float[] mean, float[] std) : base("PixelSpace")
    {
        this.network = network;
        using (var meanValues = tensor(mean))   // the reshaped views keep the values; the handles go
        using (var stdValues = tensor(std))
        {
            this.mean = meanValues.reshape(1, mean.Length, 1, 1);
            this.std = stdValues.reshape(1, std.Length, 1, 1);
        }
        RegisterComponents();
    }

    /// <summary>The network without the normalisation step (its layer names are the kit's layer names).</summary>
    public nn.Module<Tensor, Tensor> Network => network;

    /// <summary>
    /// Normalises the pixels and runs the network. Pixels of another floating-point type than the network's weights
    /// (float64 images for a float32 network, as numpy-made data often are) are converted first, differentiably.
    /// </summary>
    public override Tensor forward(Tensor pixels)
    {
        var weights = network.parameters().Concat(network.buffers()).FirstOrDefault(t => t.is_floating_point());
        var input = weights is not null && pixels.is_floating_point() && pixels.dtype != weights.dtype ? pixels.to_type(weights.dtype) : pixels;
        return network.forward((input - mean) / std);
    }
}
