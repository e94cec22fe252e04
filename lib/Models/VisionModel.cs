using TorchSharp;
using WhatNetworksLearn.Platform;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Models;

/// <summary>One layer in a model's summary table.</summary>
public sealed record LayerSummary(string Layer, string Kind, string OutputShape, long Parameters);

/// <summary>
/// A network ready for the kit's techniques: it takes pixels (N x C x H x W in [0,1]), knows its class names
/// (none for a feature trunk) and its layers by name, and lives on one device in evaluation mode.
/// </summary>
public sealed class VisionModel : IDisposable
{
    readonly PixelSpaceModule module;
    readonly Dictionary<string, nn.Module> layers;
    readonly Action? release; // a shared model's: gives its lease back instead of freeing the network

    public VisionModel(string name, string description, nn.Module<Tensor, Tensor> network, InputSpec input,
        IReadOnlyList<string> classNames, string? embeddingLayer, Device? device = null)
    {
        Name = name;
        Description = description;
        Input = input;
        ClassNames = classNames;
        Device = device ?? Kit.DefaultDevice;
        module = new PixelSpaceModule(network, input.Mean, input.Std);
        module.to(Device);
        module.eval();
        layers = NamedLayers(network).ToDictionary(m => m.Name, m => m.Module);
        LayerNames = NamedLayers(network).Select(m => m.Name).ToList();
        if (embeddingLayer is not null && !layers.ContainsKey(embeddingLayer))
            throw new ArgumentException($"The embedding layer '{embeddingLayer}' is not a layer of {name}.", nameof(embeddingLayer));
        EmbeddingLayer = embeddingLayer;
    }

    /// <summary>Another holder of <paramref name="shared"/>'s network: disposing it calls <paramref name="release"/>.</summary>
    VisionModel(VisionModel shared, Action release)
    {
        (Name, Description, Input, ClassNames, Device) = (shared.Name, shared.Description, shared.Input, shared.ClassNames, shared.Device);
        HasStandInWeights = shared.HasStandInWeights;
        (module, layers, LayerNames, EmbeddingLayer) = (shared.module, shared.layers, shared.LayerNames, shared.EmbeddingLayer);
        this.release = release;
    }

    /// <summary>
    /// The model for <paramref name="key"/> that is already in memory, or the one <paramref name="load"/> makes: see
    /// <see cref="SharedLoads"/>. Each call returns its own object; the network is freed when the last is disposed.
    /// </summary>
    public static VisionModel Shared(string key, Func<VisionModel> load)
    {
        var (model, release) = SharedLoads.Lease(key, load);
        return new VisionModel(model, release);
    }

    public string Name { get; }
    public string Description { get; }
    /// <summary>
    /// True for the tests' stand-in of an ImageNet classifier (random weights, see <see cref="ImageNetClassifier.StandInVariable"/>):
    /// its figures run but mean nothing, and checks of what the lecture expects say so instead of judging them.
    /// </summary>
    public bool HasStandInWeights { get; init; }
    public InputSpec Input { get; }
    /// <summary>Class names in output order; empty for a network without a classifier.</summary>
    public IReadOnlyList<string> ClassNames { get; }
    public bool IsClassifier => ClassNames.Count > 0;
    public Device Device { get; }
    /// <summary>Every named layer, in the order the network declares them (see <see cref="NamedLayers"/>); valid arguments of <see cref="Layer"/>.</summary>
    public IReadOnlyList<string> LayerNames { get; }
    /// <summary>The layer whose output is the image's condensed representation (the last hidden layer), if any.</summary>
    public string? EmbeddingLayer { get; }

    /// <summary>The whole network, normalisation included: pixels in, scores (or features) out.</summary>
    public nn.Module<Tensor, Tensor> Module => module;

    /// <summary>The network without its normalisation step.</summary>
    public nn.Module<Tensor, Tensor> Network => module.Network;

    /// <summary>Scores (logits) for a batch of images; checks the input and moves it to the model's device.</summary>
    public Tensor Forward(Tensor pixels)
    {
        CheckInput(pixels);
        using var scope = NewDisposeScope();   // frees the network's intermediate outputs; the graph keeps what backward needs
        return module.forward(pixels.to(Device)).MoveToOuterDisposeScope();
    }

    /// <summary>Class probabilities (softmax of the scores), without gradients.</summary>
    public Tensor Probabilities(Tensor pixels)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        return nn.functional.softmax(Forward(pixels), 1).MoveToOuterDisposeScope();
    }

    /// <summary>The top class index and its probability for each image of a batch.</summary>
    public IReadOnlyList<(int Class, float Probability)> Predict(Tensor pixels)
    {
        RequireClassifier();
        using var probabilities = Probabilities(pixels);
        var (values, indices) = probabilities.max(1);
        using (values)
        using (indices)
        {
            var p = values.cpu().data<float>().ToArray();
            var c = indices.cpu().data<long>().ToArray();
            return c.Select((cls, i) => ((int)cls, p[i])).ToList();
        }
    }

    /// <summary>
    /// Puts every layer in evaluation mode until the result is disposed, then gives each layer back the mode it had,
    /// also after an error. Techniques that need the network as it is at test time (no dropout, fixed batch-norm
    /// statistics, images that do not interact) run inside it, whatever mode the caller left the model in.
    /// </summary>
    public IDisposable EvaluationMode() => new ModeRestorer(module);

    sealed class ModeRestorer : IDisposable
    {
        readonly List<(nn.Module Module, bool Training)> modes;

        public ModeRestorer(nn.Module root)
        {
            // The root first (modules() leaves it out), then every layer below it, parents before children.
            modes = root.modules().Prepend(root).Select(m => (m, m.training)).ToList();
            root.eval();
        }

        public void Dispose()
        {
            foreach (var (layer, training) in modes)
                if (layer.training != training)
                    layer.train(training);
        }
    }

    /// <summary>A layer by name; an unknown name is an error that lists the valid ones.</summary>
    public nn.Module Layer(string name)
    {
        if (layers.TryGetValue(name, out var layer))
            return layer;
        throw new ArgumentException($"{Name} has no layer named '{name}'. Valid names: {string.Join(", ", LayerNames)}.", nameof(name));
    }

    /// <summary>
    /// Runs the batch once and returns the outputs of the named layers (detached, on the model's device). They belong to no
    /// dispose scope: the caller disposes them.
    /// </summary>
    public Dictionary<string, Tensor> Activations(Tensor pixels, params string[] layerNames)
    {
        using var noGrad = no_grad();
        using var capture = new LayerCapture(this, layerNames, detach: true);
        using (var output = Forward(pixels)) { }
        return capture.TakeAll();
    }

    /// <summary>
    /// One row per layer without children: its name, kind, output shape for one image, and parameter count.
    /// Found by running one blank image through the network with every layer watched.
    /// </summary>
    public IReadOnlyList<LayerSummary> Summary()
    {
        var leaves = LayerNames.Where(n => !layers[n].children().Any() && layers[n] is nn.Module<Tensor, Tensor>).ToList();
        using var blank = zeros(1, Input.Channels, Input.Height, Input.Width);
        var outputs = Activations(blank, [.. leaves]);
        var rows = leaves.Select(n => new LayerSummary(n, layers[n].GetType().Name,
            outputs.TryGetValue(n, out var o) ? string.Join(" x ", o.shape.Skip(1)) : "(not used)",
            layers[n].parameters().Sum(p => p.numel()))).ToList();
        foreach (var output in outputs.Values)
            output.Dispose();
        return rows;
    }

    /// <summary>
    /// Every layer of <paramref name="network"/> under its dotted name, depth first: each container, then what it holds.
    /// For a network that registers its layers in the order it runs them, that is the order they run in
    /// (TorchSharp's named_modules lists all of a container's children before the children's own layers).
    /// </summary>
    public static IEnumerable<(string Name, nn.Module Module)> NamedLayers(nn.Module network, string prefix = "")
    {
        foreach (var (name, child) in network.named_children())
        {
            yield return (prefix + name, child);
            foreach (var inner in NamedLayers(child, $"{prefix}{name}."))
                yield return inner;
        }
    }

    /// <summary>The class index for a class name (case-insensitive); an unknown name lists a few valid ones.</summary>
    public int ClassIndex(string className)
    {
        RequireClassifier();
        for (int i = 0; i < ClassNames.Count; i++)
            if (string.Equals(ClassNames[i], className, StringComparison.OrdinalIgnoreCase))
                return i;
        throw new ArgumentException($"{Name} has no class '{className}'. Classes include: {string.Join(", ", ClassNames.Take(12))}{(ClassNames.Count > 12 ? ", …" : "")}.", nameof(className));
    }

    /// <summary>Checks that a class index is one of this model's classes.</summary>
    public void CheckClass(int classIndex)
    {
        RequireClassifier();
        if (classIndex < 0 || classIndex >= ClassNames.Count)
            throw new ArgumentOutOfRangeException(nameof(classIndex), $"Class index {classIndex} is out of range: {Name} has classes 0 to {ClassNames.Count - 1}.");
    }

    /// <summary>
    /// Checks a batch of pixels against <see cref="Input"/>: rank 4, the model's channels and size, finite values in
    /// [0,1] (<see cref="PixelRange"/>). Every technique's entry point calls it.
    /// </summary>
    public void CheckInput(Tensor pixels)
    {
        var expected = $"N x {Input.Channels} x {Input.Height} x {Input.Width} pixels in [0,1]";
        var given = $"[{string.Join(", ", pixels.shape)}]";
        if (pixels.dim() != 4)
            throw new ArgumentException($"{Name} expects {expected}; got {given}. Add a batch dimension with unsqueeze(0) for a single image.", nameof(pixels));
        if (pixels.shape[0] == 0)
            throw new ArgumentException($"{Name} got an empty batch (0 images); pass at least one image.", nameof(pixels));
        if (pixels.shape[1] != Input.Channels)
            throw new ArgumentException($"{Name} expects {expected}; got {given}. " +
                (Input.Channels == 3 ? "Convert greyscale images to RGB first (Images.Prepare does)." : "Convert colour images to greyscale first (Images.Prepare does)."), nameof(pixels));
        if (pixels.shape[2] != Input.Height || pixels.shape[3] != Input.Width)
            throw new ArgumentException($"{Name} expects {expected}; got {given}. Resize with Images.Prepare(image, model).", nameof(pixels));
        if (!pixels.is_floating_point())
            throw new ArgumentException($"{Name} expects floating-point pixels in [0,1]; got {pixels.dtype}. Divide bytes by 255.", nameof(pixels));
        using var scope = NewDisposeScope();   // the check's own temporaries, whoever calls it
        if (!pixels.isfinite().all().item<bool>())
            throw new ArgumentException($"The images given to {Name} contain NaN or infinite values.", nameof(pixels));
        PixelRange.Check(pixels, Name, nameof(pixels));
    }

    void RequireClassifier()
    {
        if (!IsClassifier)
            throw new InvalidOperationException($"{Name} is a feature extractor without classes; use a classifier from the registry (ModelRegistry.Names).");
    }

    public override string ToString() =>
        $"{Name}: {Description}\nInput: {Input}\nClasses: {(IsClassifier ? $"{ClassNames.Count}" : "none (features)")}\nLayers: {string.Join(", ", LayerNames)}";

    public void Dispose()
    {
        if (release is not null)
            release();
        else
            module.Dispose();
    }
}
