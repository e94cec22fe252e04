using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Attribution;

/// <summary>
/// The shape every attribution method of the kit shares (as in Captum): built around a model, asked for a batch of
/// images (N x C x H x W pixels) and the class to explain, one for the batch or one per image (<see cref="Targets"/>),
/// it answers with signed attributions shaped like the input (N x C x H x W, on the CPU): how much each pixel value
/// speaks for the class. Wrappers such as <see cref="SmoothGrad"/> take any method; one value per pixel, for a
/// figure, is a separate step (<see cref="Attributions.PerPixel"/>). A notebook cell, or a test, reads the same
/// whichever method it uses.
/// </summary>
public interface IAttribution
{
    /// <summary>The model whose decisions are explained.</summary>
    VisionModel Model { get; }

    /// <summary>N x C x H x W signed attributions of <paramref name="pixels"/> for <paramref name="targets"/>, on the CPU.</summary>
    Tensor Attribute(Tensor pixels, Targets targets);
}
