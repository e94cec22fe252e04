using TorchSharp;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Synthesis;

/// <summary>
/// Adds a border of <paramref name="Pixels"/> on every side, filled with <paramref name="Value"/> (default mid-grey).
/// Before random zooms, turns and crops it gives them room: the image's own edges move about like its middle, so
/// nothing rewards putting patterns at the border.
/// </summary>
public sealed record Pad(int Pixels, double Value = 0.5) : ITransform
{
    public Tensor Apply(Tensor images, Generator random)
    {
        if (Pixels < 0)
            throw new ArgumentOutOfRangeException(nameof(Pixels), $"The border must be 0 pixels or more; got {Pixels}.");
        return Pixels == 0 ? images : nn.functional.pad(images, [Pixels, Pixels, Pixels, Pixels], PaddingModes.Constant, Value);
    }
}

/// <summary>
/// Cuts a window of <paramref name="Height"/> x <paramref name="Width"/> out of the images at a random place (the same
/// place for the whole batch): a random shift that also brings a padded image back to the size a network takes.
/// </summary>
public sealed record RandomCrop(int Height, int Width) : ITransform
{
    public Tensor Apply(Tensor images, Generator random)
    {
        long height = images.shape[2], width = images.shape[3];
        if (Height < 1 || Width < 1 || Height > height || Width > width)
            throw new ArgumentException($"Cannot crop {Height} x {Width} pixels out of images of {height} x {width}: the window must fit inside.", nameof(images));
        long top = Draw.Integer(random, 0, height - Height), left = Draw.Integer(random, 0, width - Width);
        return images.narrow(2, top, Height).narrow(3, left, Width);
    }
}
