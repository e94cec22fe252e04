using static TorchSharp.torch;

namespace WhatNetworksLearn.Adversarial;

/// <summary>
/// A compositional pattern-producing network (Stanley, 2007), the second encoding of Nguyen et al.'s fooling images
/// (notebook 12): a tiny network that is asked, for every pixel, "what value here?", given the pixel's position
/// x, y in [−1, 1], its distance d from the centre and a constant 1. Its hidden nodes use varied activations (sine,
/// Gaussian, sigmoid, identity), so the images it draws are made of repetitions, symmetries and smooth gradients,
/// whatever its weights. Evolution changes only the weights, the genome; the layout of the network is fixed.
/// </summary>
/// <remarks>
/// Each layer takes the previous one's outputs plus the constant 1, so every node has a bias. The nodes of a hidden
/// layer take the activations in turn: node k uses <see cref="Activations"/>[k mod 4]. The output layer has one node per
/// image channel and a sigmoid, so pixels lie in [0,1] (in floating point a steep sigmoid reaches 0 and 1). Nguyen et al. also evolved the layout (NEAT); a fixed layout
/// keeps every genome the same length, so a whole population is drawn in one batched pass.
/// </remarks>
/// <param name="HiddenLayers">Hidden layers between the inputs and the output.</param>
/// <param name="NodesPerLayer">Nodes per hidden layer.</param>
/// <param name="WeightLimit">Weights are kept in [−WeightLimit, WeightLimit]; the random start is uniform over that range.</param>
public sealed record Cppn(int HiddenLayers = 2, int NodesPerLayer = 8, double WeightLimit = 3)
{
    /// <summary>The inputs of every pixel, in this order.</summary>
    public static readonly IReadOnlyList<string> Inputs = ["x", "y", "d", "1"];

    /// <summary>The activations of the hidden nodes, in the order they repeat.</summary>
    public static readonly IReadOnlyList<string> Activations = ["sin", "gaussian", "sigmoid", "identity"];

    public void Validate()
    {
        if (HiddenLayers < 1 || NodesPerLayer < 1)
            throw new ArgumentOutOfRangeException(nameof(HiddenLayers), $"A CPPN needs at least one hidden layer of at least one node; got {HiddenLayers} layers of {NodesPerLayer}.");
        if (!(WeightLimit > 0) || double.IsInfinity(WeightLimit))
            throw new ArgumentOutOfRangeException(nameof(WeightLimit), $"The weight limit must be a positive number (e.g. 3); got {WeightLimit}.");
    }

    /// <summary>The number of weights (genes) of a CPPN that draws <paramref name="channels"/> channels.</summary>
    public int GenomeLength(int channels) => LayerShapes(channels).Sum(s => s.In * s.Out);

    /// <summary>
    /// The images of a population (P genomes of <see cref="GenomeLength"/> weights): P x <paramref name="channels"/> x
    /// <paramref name="height"/> x <paramref name="width"/>, pixels in [0,1], every genome and pixel in one batched pass.
    /// </summary>
    public Tensor Render(Tensor genomes, int channels, int height, int width)
    {
        Validate();
        int length = GenomeLength(channels);
        if (genomes.dim() != 2 || genomes.shape[1] != length)
            throw new ArgumentException($"Expected genomes P x {length} (the weights of a CPPN with {HiddenLayers} hidden layers of {NodesPerLayer} nodes " +
                $"and {channels} output channel(s)); got [{string.Join(", ", genomes.shape)}].", nameof(genomes));
        using var scope = NewDisposeScope();
        long population = genomes.shape[0];
        var values = Coordinates(height, width, genomes.device, genomes.dtype).expand(population, -1, -1);   // P x HW x 4
        var layers = LayerShapes(channels);
        long offset = 0;
        for (int layer = 0; layer < layers.Count; layer++)
        {
            var (inputs, outputs) = layers[layer];
            var weights = genomes.narrow(1, offset, inputs * outputs).reshape(population, inputs, outputs);
            offset += inputs * outputs;
            if (layer > 0)
                values = cat([values, ones(population, values.shape[1], 1, dtype: values.dtype, device: values.device)], 2);
            var sums = values.bmm(weights);
            values = layer == layers.Count - 1 ? sums.sigmoid() : Activate(sums);
        }
        return values.permute(0, 2, 1).reshape(population, channels, height, width).MoveToOuterDisposeScope();
    }

    /// <summary>The inputs of every pixel, row by row: HW x 4 (x, y, d, 1), x and y from −1 to 1 across the image's pixel centres.</summary>
    public static Tensor Coordinates(int height, int width, Device? device = null, ScalarType dtype = ScalarType.Float32)
    {
        using var scope = NewDisposeScope();
        var y = Centres(height, device, dtype).unsqueeze(1).expand(height, width);
        var x = Centres(width, device, dtype).unsqueeze(0).expand(height, width);
        var d = (x.square() + y.square()).sqrt();
        return stack([x, y, d, ones_like(x)], 2).reshape(height * width, 4).MoveToOuterDisposeScope();
    }

    /// <summary>(inputs, outputs) of each layer's weight matrix; inputs include the constant 1.</summary>
    List<(int In, int Out)> LayerShapes(int channels)
    {
        if (channels < 1)
            throw new ArgumentOutOfRangeException(nameof(channels), $"A CPPN draws at least one channel; got {channels}.");
        var shapes = new List<(int, int)> { (Inputs.Count, NodesPerLayer) };
        for (int layer = 1; layer < HiddenLayers; layer++)
            shapes.Add((NodesPerLayer + 1, NodesPerLayer));
        shapes.Add((NodesPerLayer + 1, channels));
        return shapes;
    }

    /// <summary>Node k of the layer (the last dimension) gets activation k mod 4: sine, Gaussian, sigmoid, identity.</summary>
    static Tensor Activate(Tensor sums)
    {
        long nodes = sums.shape[^1];
        using var kind = arange(nodes, device: sums.device).remainder(Activations.Count).reshape(1, 1, nodes);
        var gaussian = (-sums.square() / 2).exp();
        return where(kind.eq(0), sums.sin(), where(kind.eq(1), gaussian, where(kind.eq(2), sums.sigmoid(), sums)));
    }

    /// <summary>The centres of <paramref name="count"/> equal pixels that cover [−1, 1] (one pixel: 0).</summary>
    static Tensor Centres(int count, Device? device, ScalarType dtype) =>
        linspace(-1 + 1.0 / count, 1 - 1.0 / count, count, dtype: dtype, device: device);
}
