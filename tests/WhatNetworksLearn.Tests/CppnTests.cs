using WhatNetworksLearn.Adversarial;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

/// <summary>The CPPN that draws fooling images: its inputs, its layout and its activations, by hand-set weights.</summary>
public class CppnTests
{
    // The default CPPN: inputs x, y, d, 1 -> 8 nodes -> (8 + 1) -> 8 nodes -> (8 + 1) -> channels.
    static readonly Cppn Network = new();
    const int Nodes = 8;

    /// <summary>Offsets of the three weight matrices in a genome of the default CPPN with one channel (row-major, inputs x outputs).</summary>
    const int First = 0, Second = 4 * Nodes, Output = Second + (Nodes + 1) * Nodes;

    [Fact]
    public void The_genome_holds_every_weight_and_bias()
    {
        Assert.Equal(4 * 8 + 9 * 8 + 9 * 1, Network.GenomeLength(1));
        Assert.Equal(4 * 8 + 9 * 8 + 9 * 3, Network.GenomeLength(3));
        Assert.Equal(4 * 5 + 6 * 3, new Cppn(HiddenLayers: 1, NodesPerLayer: 5).GenomeLength(3));
    }

    [Fact]
    public void The_inputs_are_the_pixel_centres_their_distance_from_the_centre_and_one()
    {
        using var inputs = Cppn.Coordinates(2, 4);
        float[] expected =
        [
            -0.75f, -0.5f, 0.901388f, 1, -0.25f, -0.5f, 0.559017f, 1, 0.25f, -0.5f, 0.559017f, 1, 0.75f, -0.5f, 0.901388f, 1,
            -0.75f, 0.5f, 0.901388f, 1, -0.25f, 0.5f, 0.559017f, 1, 0.25f, 0.5f, 0.559017f, 1, 0.75f, 0.5f, 0.901388f, 1,
        ];
        Assert.Equal(new long[] { 8, 4 }, inputs.shape);
        Assert.True(inputs.flatten().allclose(tensor(expected), atol: 1e-5));
    }

    [Fact]
    public void Only_the_output_bias_gives_a_uniform_image()
    {
        using var genome = zeros(1, Network.GenomeLength(1));
        genome[0, Output + Nodes] = tensor(1.5f);   // the output's weight from the constant 1
        using var image = Network.Render(genome, 1, 5, 6);
        Assert.True(image.allclose(full(1, 1, 5, 6, (float)(1 / (1 + Math.Exp(-1.5)))), atol: 1e-6));
    }

    [Theory]
    [InlineData(0)]   // sine
    [InlineData(1)]   // Gaussian
    [InlineData(2)]   // sigmoid
    [InlineData(3)]   // identity
    public void Hidden_node_k_applies_activation_k_mod_4(int node)
    {
        // x -> first-layer node `node` (weight 2) -> second-layer node 3, the identity (weight 1) -> output (weight 1), so
        // pixel (row, column) = sigmoid(activation(2 x)). The second-layer identity node passes the value on unchanged.
        using var genome = zeros(1, Network.GenomeLength(1));
        genome[0, First + 0 * Nodes + node] = tensor(2f);            // input x (row 0) to node `node`
        genome[0, Second + node * Nodes + 3] = tensor(1f);           // first-layer node `node` to second-layer node 3
        genome[0, Output + 3] = tensor(1f);                          // second-layer node 3 to the output
        using var image = Network.Render(genome, 1, 3, 4);
        Func<double, double> activation = node switch
        {
            0 => Math.Sin,
            1 => v => Math.Exp(-v * v / 2),
            2 => v => 1 / (1 + Math.Exp(-v)),
            _ => v => v,
        };
        for (int row = 0; row < 3; row++)
            for (int column = 0; column < 4; column++)
            {
                double x = -0.75 + 0.5 * column;
                Assert.Equal(1 / (1 + Math.Exp(-activation(2 * x))), image[0, 0, row, column].item<float>(), 5);
            }
    }

    [Fact]
    public void A_batch_of_genomes_draws_the_images_each_draws_alone()
    {
        var network = new Cppn(HiddenLayers: 3, NodesPerLayer: 6);
        manual_seed(11);
        using var genomes = (rand(5, network.GenomeLength(3)) * 2 - 1) * 3;
        using var together = network.Render(genomes, 3, 7, 9);
        Assert.Equal(new long[] { 5, 3, 7, 9 }, together.shape);
        for (int i = 0; i < 5; i++)
        {
            using var alone = network.Render(genomes[i..(i + 1)], 3, 7, 9);
            float difference = (alone - together[i..(i + 1)]).abs().max().item<float>();
            Assert.True(difference < 1e-5f, $"genome {i}: largest difference {difference}");
        }
        Assert.True(together.min().item<float>() >= 0 && together.max().item<float>() <= 1);
    }

    [Fact]
    public void Bad_genomes_and_layouts_are_refused()
    {
        Assert.Contains("P x 113", Assert.Throws<ArgumentException>(() => Network.Render(zeros(2, 100), 1, 4, 4)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Cppn(HiddenLayers: 0).Render(zeros(1, 9), 1, 4, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Cppn(WeightLimit: double.NaN).Validate());
    }
}
