namespace WhatNetworksLearn.Models;

/// <summary>
/// What a model takes. Every technique of the kit works in pixel space: images shaped N x C x H x W with
/// values in [0,1]. The normalisation the network was trained with (<see cref="Mean"/>, <see cref="Std"/>)
/// happens inside the model wrapper, so no caller ever handles normalised values.
/// </summary>
public sealed record InputSpec(int Channels, int Height, int Width, float[] Mean, float[] Std)
{
    public override string ToString() =>
        $"{Channels} x {Height} x {Width} pixels in [0,1]; normalised inside with mean [{string.Join(", ", Mean)}], std [{string.Join(", ", Std)}]";
}
