using TorchSharp;
using WhatNetworksLearn.Synthesis;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

/// <summary>The kit's one Gaussian blur: its borders, its agreement with a plain convolution, and its gradient.</summary>
public class ImageFiltersTests
{
    [Theory]
    [InlineData(PaddingModes.Replicate)]
    [InlineData(PaddingModes.Reflect)]
    public void The_border_pixels_take_the_weights_their_padding_mode_gives_them(PaddingModes padding)
    {
        // σ = 1/3: radius 1, weights (a, 1, a) / s with a = e^(−1/(2σ²)) = e^(−4.5), s = 1 + 2a. One bright pixel in the
        // corner of a 5 x 5 image. Along a line, the tap left of pixel 0 reads pixel 0 again (replicate), so pixel 0
        // keeps (1 + a) / s, or reads pixel 1 (reflect), so it keeps 1 / s; pixel 1 gets a / s either way. The 2-D
        // blur is the outer product of the two lines.
        double a = Math.Exp(-4.5), s = 1 + 2 * a;
        double[] line = [padding == PaddingModes.Replicate ? (1 + a) / s : 1 / s, a / s, 0, 0, 0];
        using var image = zeros(1, 1, 5, 5);
        image[0, 0, 0, 0] = tensor(1f);
        using var blurred = ImageFilters.GaussianBlur(image, 1.0 / 3, padding);
        var expected = line.SelectMany(row => line.Select(column => row * column)).ToArray();
        Assert.Equal(expected, blurred.flatten().to(ScalarType.Float64).data<double>().ToArray(), (x, y) => Math.Abs(x - y) < 1e-6);
    }

    [Theory]
    [InlineData(PaddingModes.Replicate, 0.6)]
    [InlineData(PaddingModes.Replicate, 1.5)]
    [InlineData(PaddingModes.Reflect, 0.6)]
    [InlineData(PaddingModes.Reflect, 1.5)]
    public void Agrees_with_a_padded_double_precision_convolution(PaddingModes padding, double sigma)
    {
        using var images = rand(3, 2, 9, 17, generator: new Generator(4));
        int radius = (int)Math.Ceiling(3 * sigma);
        using var kernel = ImageFilters.GaussianKernel(sigma, type: ScalarType.Float64);
        using var padded = nn.functional.pad(images.to(ScalarType.Float64), [radius, radius, radius, radius], padding);
        using var expected = nn.functional.conv2d(padded, outer(kernel, kernel).expand(2, 1, -1, -1), groups: 2);
        using var blurred = ImageFilters.GaussianBlur(images, sigma, padding);
        Assert.Equal(ScalarType.Float32, blurred.dtype);
        Assert.True(blurred.to(ScalarType.Float64).allclose(expected, atol: 1e-6));
    }

    [Theory]
    [InlineData(1, 1, 12, 0.6, PaddingModes.Replicate)]
    [InlineData(4, 1, 12, 0.6, PaddingModes.Replicate)]
    [InlineData(8, 1, 28, 0.6, PaddingModes.Replicate)]
    [InlineData(4, 3, 32, 1.5, PaddingModes.Replicate)]
    [InlineData(4, 1, 28, 1.0, PaddingModes.Reflect)]
    public void Its_gradient_is_the_adjoint_of_the_blur(int n, int channels, int size, double sigma, PaddingModes padding)
    {
        // The blur is linear, x -> Bx, so the gradient of <Bx, w> with respect to x is Bᵀw and <x, Bᵀw> = <Bx, w>.
        // A per-channel convolution failed this on this kit's machines (oneDNN's AVX-512 single-channel kernel); the
        // repeats catch a gradient that is wrong only some of the time.
        for (int repeat = 0; repeat < 5; repeat++)
        {
            using var scope = NewDisposeScope();
            var x = rand(n, channels, size, size, generator: new Generator((ulong)repeat)).requires_grad_(true);
            var w = rand(n, channels, size, size, generator: new Generator((ulong)repeat + 100));
            var forward = (ImageFilters.GaussianBlur(x, sigma, padding) * w).sum();
            forward.backward();
            double viaGradient = (x.grad! * x).sum().item<float>();
            Assert.Equal(forward.item<float>(), viaGradient, 1e-5 * n * channels * size * size);
            Assert.True(x.grad!.isfinite().all().item<bool>());
        }
    }
}
