using static TorchSharp.torch;

namespace WhatNetworksLearn.Attribution;

/// <summary>
/// The shape every attribution method of the kit shares (as in Captum): built around a model, asked for a batch of
/// images (N x C x H x W pixels) and the class to explain, it answers with one importance value per pixel
/// (N x H x W, on the CPU; larger means more important for that class). A notebook cell, or a test, reads the same
/// whichever method it uses.
/// </summary>
public interface IAttribution
{
    Tensor Attribute(Tensor pixels, int targetClass);
}
