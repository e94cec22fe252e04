using TorchSharp.Modules;
using WhatNetworksLearn.Models;

namespace WhatNetworksLearn.Features;

/// <summary>The spatial shape of one layer on the way from the image: kernel, stride, padding, dilation.</summary>
public sealed record LayerGeometry(string Name, int Kernel, int Stride, int Padding, int Dilation = 1);

/// <summary>
/// Where in the image a unit of a layer looks. <see cref="Size"/>: the side of the square of input pixels that can
/// affect the unit; <see cref="Jump"/>: how far apart (in input pixels) two neighbouring units are;
/// <see cref="Start"/>: the input coordinate of the centre of the first unit's field (may be negative: padding).
/// </summary>
public sealed record ReceptiveField(int Size, int Jump, double Start)
{
    /// <summary>The field of the input itself: each pixel sees itself.</summary>
    public static readonly ReceptiveField Input = new(1, 1, 0);

    /// <summary>
    /// The field after one more layer. A kernel k with dilation d spans k' = d(k-1)+1 positions of the previous layer,
    /// each <see cref="Jump"/> input pixels apart; the stride multiplies the jump; padding shifts the start back.
    /// </summary>
    public ReceptiveField Through(LayerGeometry layer)
    {
        int span = layer.Dilation * (layer.Kernel - 1) + 1;
        return new ReceptiveField(
            Size + (span - 1) * Jump,
            Jump * layer.Stride,
            Start + ((span - 1) / 2.0 - layer.Padding) * Jump);
    }

    public static ReceptiveField Of(IEnumerable<LayerGeometry> layers) => layers.Aggregate(Input, (field, layer) => field.Through(layer));

    /// <summary>
    /// The input coordinates of the top left corner of the unit's whole field (row <paramref name="y"/>, column
    /// <paramref name="x"/>), before clipping: negative where the field starts on padding.
    /// </summary>
    public (int Left, int Top) Corner(int y, int x) =>
        ((int)Math.Round(Start + x * Jump - (Size - 1) / 2.0), (int)Math.Round(Start + y * Jump - (Size - 1) / 2.0));

    /// <summary>The input box (left, top, width, height) of the unit at row <paramref name="y"/>, column <paramref name="x"/>, clipped to the image.</summary>
    public (int Left, int Top, int Width, int Height) Box(int y, int x, int imageHeight, int imageWidth)
    {
        var (left, top) = Corner(y, x);
        int right = Math.Min(imageWidth, left + Size), bottom = Math.Min(imageHeight, top + Size);
        left = Math.Max(0, left);
        top = Math.Max(0, top);
        return (left, top, right - left, bottom - top);
    }

    /// <summary>
    /// The geometry of every convolution and pooling layer on the main path from the image to <paramref name="layer"/>
    /// (inclusive). Shortcut branches of residual networks (layers named "downsample") run beside the main path and
    /// are left out; layers that keep the size (batch norm, ReLU, additions) do not change the field.
    /// </summary>
    public static List<LayerGeometry> PathTo(VisionModel model, string layer)
    {
        model.Layer(layer); // an unknown name fails here with the list of valid ones
        var path = new List<LayerGeometry>();
        foreach (var name in model.LayerNames)
        {
            if (!name.Contains("downsample", StringComparison.Ordinal) && Geometry(name, model.Layer(name)) is { } geometry)
                path.Add(geometry);
            if (name == layer)
                return path;
        }
        return path;
    }

    static LayerGeometry? Geometry(string name, TorchSharp.torch.nn.Module module) => module switch
    {
        Conv2d c => new(name, (int)c.kernel_size[0], (int)c.stride[0], (int)(c.padding?[0] ?? 0), (int)c.dilation[0]),
        MaxPool2d p => new(name, (int)p.kernel_size[0], (int)(p.stride?[0] ?? p.kernel_size[0]), (int)(p.padding?[0] ?? 0), (int)(p.dilation?[0] ?? 1)),
        AvgPool2d p => new(name, (int)p.kernel_size[0], (int)(p.stride?[0] ?? p.kernel_size[0]), (int)(p.padding?[0] ?? 0)),
        _ => null,
    };
}
