using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Attribution;

/// <summary>
/// Gives named layers of a model random weights until disposed, then puts every original value back (also after an
/// error), so that the model a notebook shares between cells is never left changed. Each parameter of a layer gets
/// values drawn from a normal distribution with the parameter's own mean and standard deviation, so that the signals
/// keep roughly their scale and only what was learnt is lost. The draws are seeded per layer (by the seed and the
/// layer's place in <see cref="VisionModel.LayerNames"/>), so a layer gets the same random values whichever other
/// layers are randomised with it. Notebook 18.
/// </summary>
public sealed class RandomizedLayers : IDisposable
{
    readonly List<(Tensor Parameter, Tensor Original)> saved = [];

    RandomizedLayers(VisionModel model, IReadOnlyList<string> layers, int seed)
    {
        Layers = layers;
        CheckLayers(model, layers);
        var modules = layers.Select(name => (Name: name, Module: model.Layer(name))).ToList();
        var done = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        try
        {
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            foreach (var (name, module) in modules)
            {
                using var generator = new Generator((ulong)((long)seed * 100_003 + model.LayerNames.ToList().IndexOf(name)));
                foreach (var parameter in module.parameters())
                {
                    if (!done.Add(parameter))
                        continue;   // a layer inside another listed layer
                    saved.Add((parameter, parameter.detach().clone().DetachFromDisposeScope()));
                    var values = parameter.detach().to_type(ScalarType.Float32).cpu();
                    var mean = values.mean();
                    var spread = values.numel() > 1 ? values.std(unbiased: false) : zeros_like(mean);
                    var random = randn(values.shape, generator: generator) * spread + mean;
                    parameter.copy_(random.to(parameter.dtype, parameter.device));
                }
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Randomises <paramref name="layers"/> (names of <see cref="VisionModel.LayerNames"/>, children included) until the result is disposed.</summary>
    public static RandomizedLayers Apply(VisionModel model, IReadOnlyList<string> layers, int seed = 0)
    {
        if (layers.Count == 0)
            throw new ArgumentException("Name at least one layer to randomise.", nameof(layers));
        return new(model, layers, seed);
    }

    /// <summary>Checks that every name is a layer of the model (an unknown one fails with the valid ones) and has weights.</summary>
    public static void CheckLayers(VisionModel model, IEnumerable<string> layers)
    {
        foreach (var name in layers)
            if (!model.Layer(name).parameters().Any())
                throw new ArgumentException($"Layer '{name}' of {model.Name} has no weights to randomise; name layers with weights (convolutions, linear layers, blocks).", nameof(layers));
    }

    /// <summary>The layers whose weights are random.</summary>
    public IReadOnlyList<string> Layers { get; }

    /// <summary>Puts every randomised parameter back to the value it had.</summary>
    public void Dispose()
    {
        using (no_grad())
            foreach (var (parameter, original) in saved)
            {
                parameter.copy_(original);
                original.Dispose();
            }
        saved.Clear();
    }
}

/// <summary>
/// What a cascading randomisation found, on the CPU.
/// </summary>
/// <param name="Methods">The methods' names, in the order given.</param>
/// <param name="Stages">The layers randomised, from the top: stage s (1-based) has the first s of them random; stage 0 is the trained model.</param>
/// <param name="Images">The images explained, N x C x H x W.</param>
/// <param name="Maps">Methods x (stages + 1) x N x H x W: each method's map (<see cref="Attributions.PerPixel"/>) at every stage.</param>
/// <param name="Correlations">Methods x (stages + 1) x N: the rank correlation (Spearman) of each map with the same method's map at stage 0.</param>
public sealed record SanityCheckResult(IReadOnlyList<string> Methods, IReadOnlyList<string> Stages, Tensor Images, Tensor Maps, Tensor Correlations) : IDisposable
{
    /// <summary>The rank correlation with the trained model's map of method <paramref name="method"/> at stage <paramref name="stage"/>, averaged over the images.</summary>
    public double MeanCorrelation(int method, int stage) => Correlations[method, stage].mean().item<float>();

    /// <summary>The same, by the method's name.</summary>
    public double MeanCorrelation(string method, int stage) => MeanCorrelation(IndexOf(method), stage);

    /// <summary>
    /// How many of the images have a map of method <paramref name="method"/> that is 0 everywhere at stage
    /// <paramref name="stage"/> (no order at all: its rank correlation counts as 0).
    /// </summary>
    public int EmptyMaps(int method, int stage) => (int)Maps[method, stage].flatten(1).amax(1).eq(0).sum().item<long>();

    int IndexOf(string method)
    {
        var index = Methods.ToList().IndexOf(method);
        return index >= 0 ? index : throw new ArgumentException($"No method named '{method}'; the methods are {string.Join(", ", Methods)}.", nameof(method));
    }

    public void Dispose()
    {
        Images.Dispose();
        Maps.Dispose();
        Correlations.Dispose();
    }
}

/// <summary>
/// The model-parameter randomisation test of Adebayo et al. (2018), "Sanity checks for saliency maps": an explanation
/// of what a network learnt must change when what it learnt is destroyed. Starting from the top, layer after layer
/// gets random weights (cumulatively: the layers above stay random) and every method explains the same images for the
/// same classes again; the rank correlation (Spearman) of each new map with the trained model's map says how much
/// it changed. A method whose maps barely change is showing the image, not the model. The model is given back
/// unchanged. Notebook 18.
/// </summary>
public static class CascadingRandomization
{
    /// <summary>
    /// Runs every method on <paramref name="pixels"/> for <paramref name="targets"/> with the trained model, then with
    /// the first 1, 2, … of <paramref name="stages"/> (layer names, top first) randomised by <see cref="RandomizedLayers"/>
    /// with <paramref name="seed"/>. All methods must be built around <paramref name="model"/> itself.
    /// </summary>
    public static SanityCheckResult Run(VisionModel model, IReadOnlyList<(string Name, IAttribution Method)> methods, Tensor pixels, Targets targets,
        IReadOnlyList<string> stages, int seed = 0)
    {
        if (methods.Count == 0)
            throw new ArgumentException("Give at least one attribution method to check.", nameof(methods));
        if (methods.Select(m => m.Name).Distinct().Count() != methods.Count)
            throw new ArgumentException("Give every method its own name: the figures tell them apart by name.", nameof(methods));
        foreach (var (name, method) in methods)
            if (!ReferenceEquals(method.Model, model))
                throw new ArgumentException($"Method '{name}' explains {method.Model.Name}, another model object: build every method around the model being randomised.", nameof(methods));
        if (stages.Count == 0)
            throw new ArgumentException("Name at least one layer to randomise, the top one first.", nameof(stages));
        RandomizedLayers.CheckLayers(model, stages);   // before any work
        model.CheckInput(pixels);
        targets.CheckClasses(model, pixels.shape[0]);

        using var scope = NewDisposeScope();
        var images = pixels.detach().cpu();
        Tensor MapsNow() => stack(methods.Select(m => Attributions.PerPixel(m.Method.Attribute(images, targets))).ToArray());   // methods x N x H x W
        var perStage = new List<Tensor> { MapsNow() };
        for (int s = 1; s <= stages.Count; s++)
            using (RandomizedLayers.Apply(model, stages.Take(s).ToList(), seed))
                perStage.Add(MapsNow());
        var maps = stack(perStage.ToArray(), 1);   // methods x stages x N x H x W
        var correlations = stack(perStage.Select(stageMaps => stack(Enumerable.Range(0, methods.Count)
            .Select(m => Attributions.RankCorrelation(stageMaps[m], perStage[0][m])).ToArray())).ToArray(), 1);
        return new SanityCheckResult(methods.Select(m => m.Name).ToList(), stages.ToList(), images.clone().MoveToOuterDisposeScope(),
            maps.to_type(ScalarType.Float32).MoveToOuterDisposeScope(), correlations.to_type(ScalarType.Float32).MoveToOuterDisposeScope());
    }
}
