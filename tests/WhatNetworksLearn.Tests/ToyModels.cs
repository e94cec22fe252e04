using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

/// <summary>Tiny models whose answers can be worked out by hand.</summary>
static class ToyModels
{
    /// <summary>
    /// A two-class model on 1 x 8 x 8 images: the score of class 0 is 10 x the sum of the pixels in the 2 x 2 square
    /// at rows 0-1, columns 0-1; the score of class 1 is always 0. Nothing else in the image matters.
    /// </summary>
    public static VisionModel CornerDetector()
    {
        var linear = nn.Linear(64, 2);
        using (no_grad())
        {
            linear.weight!.zero_();
            linear.bias!.zero_();
            foreach (var (row, column) in new[] { (0, 0), (0, 1), (1, 0), (1, 1) })
                linear.weight[0, row * 8 + column] = tensor(10f);
        }
        var network = nn.Sequential(("flatten", nn.Flatten()), ("linear", linear));
        return new VisionModel("corner-detector", "toy", network, new InputSpec(1, 8, 8, [0f], [1f]), ["corner", "other"], null, CPU);
    }

    /// <summary>
    /// A linear classifier on 1 x H x W images, scores = W x + b with x the flattened pixels: <paramref name="weight"/> is
    /// classes x (H W), <paramref name="bias"/> one per class. Its decision boundaries are hyperplanes, so the distance
    /// of an image to them is known in closed form.
    /// </summary>
    public static VisionModel Linear(Tensor weight, Tensor bias, int height, int width)
    {
        long classes = weight.shape[0];
        var linear = nn.Linear(height * width, classes);
        using (no_grad())
        {
            linear.weight!.copy_(weight);
            linear.bias!.copy_(bias);
        }
        var network = nn.Sequential(("flatten", nn.Flatten()), ("linear", linear));
        return new VisionModel("linear", "toy", network, new InputSpec(1, height, width, [0f], [1f]),
            Enumerable.Range(0, (int)classes).Select(c => $"class {c}").ToList(), null, CPU);
    }

    /// <summary>
    /// A brightness detector on 1 x 32 x 32 images: layer "mean" is the mean of the pixels in each 16 x 16 window, every
    /// 8 pixels (no padding), so its 3 x 3 units have receptive fields of 16 pixels, 8 apart, starting at 7.5; "relu"
    /// after it changes nothing (means of pixels in [0,1] are not negative).
    /// </summary>
    public static VisionModel BrightnessWindows()
    {
        var mean = nn.Conv2d(1, 1, 16, stride: 8, bias: false);
        using (no_grad())
            mean.weight!.fill_(1f / 256);
        var network = nn.Sequential(("mean", mean), ("relu", nn.ReLU()));
        return new VisionModel("brightness-windows", "toy", network, new InputSpec(1, 32, 32, [0f], [1f]), [], null, CPU);
    }
}
