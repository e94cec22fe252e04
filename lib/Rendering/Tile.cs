using SkiaSharp;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Rendering;

/// <summary>A rectangle on an image, in the image's pixel coordinates, with an optional label.</summary>
public sealed record Box(float Left, float Top, float Width, float Height, string? Label = null);

/// <summary>A circle on an image, in the image's pixel coordinates (for example the pixel a one-pixel attack changed).</summary>
public sealed record Mark(float X, float Y, float Radius);

/// <summary>
/// One cell of a grid figure: an image (H x W, 1 x H x W or 3 x H x W, values in [0,1]) with a caption
/// of one or more lines, and optional boxes and circles drawn over it.
/// </summary>
public sealed record Tile(Tensor Image, string? Caption = null)
{
    public IReadOnlyList<Box> Boxes { get; init; } = [];
    public IReadOnlyList<Mark> Marks { get; init; } = [];
    /// <summary>Colour of the boxes and circles.</summary>
    public SKColor Color { get; init; } = SKColors.White;
}
