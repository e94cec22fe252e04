using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using Microsoft.ML.Transforms;
using TorchSharp;
using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Classical;

/// <summary>Settings of the HOG + linear classifier.</summary>
/// <param name="Hog">The descriptor's settings (null: <see cref="HogClassifier.FashionMnistHog"/>).</param>
/// <param name="Seed">Seed of ML.NET's context; training uses one thread, so a seed gives one model.</param>
/// <param name="L2Regularization">SDCA's L2 penalty on the weights (null: ML.NET chooses from the data). The default
/// keeps the weights small enough that 20 passes converge: on 1,500 Fashion-MNIST images, about 87% test accuracy in seconds.</param>
/// <param name="Iterations">Passes of SDCA over the data (null: ML.NET's default, until it converges, which takes a minute here).</param>
public sealed record HogClassifierOptions(HogOptions? Hog = null, int Seed = 0, float? L2Regularization = 1e-3f, int? Iterations = 20)
{
    public void Validate()
    {
        Hog?.Validate();
        if (L2Regularization is float l2 && (!(l2 >= 0) || float.IsInfinity(l2)))
            throw new ArgumentOutOfRangeException(nameof(L2Regularization), $"The L2 penalty must be a finite number ≥ 0; got {l2}.");
        if (Iterations is < 1)
            throw new ArgumentOutOfRangeException(nameof(Iterations), $"SDCA needs at least one iteration; got {Iterations}.");
    }
}

/// <summary>
/// A classical pipeline, handcrafted features and a linear model: HOG descriptors fed to a multiclass logistic
/// regression (maximum entropy) trained by ML.NET's SDCA. After training, its weights and biases are copied into a
/// TorchSharp <c>Linear</c> layer behind the differentiable <see cref="Hog"/>, so the whole pipeline is a
/// <see cref="VisionModel"/> (layers "hog" and "linear") and the kit's gradient attacks run on it unchanged.
/// The ML.NET model is kept to check that both give the same scores.
/// </summary>
public sealed class HogClassifier : IDisposable
{
    /// <summary>HOG for 28 x 28 images: cells of 4 pixels (7 x 7 cells), blocks of 2 x 2 cells moving by one cell, 9 bins: 1,296 values.</summary>
    public static HogOptions FashionMnistHog { get; } = new(CellSize: 4);

    readonly MLContext context;
    readonly SchemaDefinition schema;
    readonly ITransformer trained;

    HogClassifier(VisionModel model, MLContext context, SchemaDefinition schema, ITransformer trained)
    {
        Model = model;
        this.context = context;
        this.schema = schema;
        this.trained = trained;
    }

    /// <summary>HOG + linear layer as a model of the kit: pixels in, class scores (logits) out.</summary>
    public VisionModel Model { get; }

    /// <summary>The descriptor layer of <see cref="Model"/>.</summary>
    public Hog Hog => (Hog)Model.Layer("hog");

    /// <summary>
    /// Trains on <paramref name="images"/> (N x C x H x W in [0,1]) with <paramref name="labels"/> (N class indices into
    /// <paramref name="classNames"/>). Every class must occur at least once.
    /// </summary>
    public static HogClassifier Train(Tensor images, Tensor labels, IReadOnlyList<string> classNames, HogClassifierOptions? options = null, Device? device = null)
    {
        options ??= new HogClassifierOptions();
        options.Validate();
        if (images.dim() != 4)
            throw new ArgumentException($"Expected training images N x C x H x W; got [{string.Join(", ", images.shape)}].", nameof(images));
        if (labels.dim() != 1 || labels.shape[0] != images.shape[0])
            throw new ArgumentException($"Expected one label per image ({images.shape[0]}); got labels of shape [{string.Join(", ", labels.shape)}].", nameof(labels));
        if (classNames.Count < 2)
            throw new ArgumentException("A classifier needs at least two class names.", nameof(classNames));
        var truth = Targets.FromLabels(labels);   // whole numbers stored as floats are accepted, fractions refused
        var labelValues = Enumerable.Range(0, (int)labels.shape[0]).Select(i => (long)truth[i]).ToArray();
        if (labelValues.Any(l => l < 0 || l >= classNames.Count))
            throw new ArgumentOutOfRangeException(nameof(labels), $"Labels must be class indices 0 to {classNames.Count - 1}.");
        var missing = Enumerable.Range(0, classNames.Count).Where(c => !labelValues.Contains(c)).ToList();
        if (missing.Count > 0)
            throw new ArgumentException($"No training image of class {string.Join(", ", missing.Select(c => classNames[c]))}; every class needs examples.", nameof(labels));

        var hog = new Hog(options.Hog ?? FashionMnistHog);
        long length = hog.DescriptorLength(images.shape[2], images.shape[3]);
        var context = new MLContext(options.Seed);
        var schema = Schema(length);
        var rows = Descriptors(hog, images).Select((features, i) => new HogRow { Features = features, Label = (int)labelValues[i] }).ToList();
        // Class indices become ML.NET keys in sorted order, so score k is class k.
        var pipeline = context.Transforms.Conversion.MapValueToKey(KeyColumn, nameof(HogRow.Label), keyOrdinality: ValueToKeyMappingEstimator.KeyOrdinality.ByValue)
            .Append(context.MulticlassClassification.Trainers.SdcaMaximumEntropy(new SdcaMaximumEntropyMulticlassTrainer.Options
            {
                LabelColumnName = KeyColumn,
                FeatureColumnName = nameof(HogRow.Features),
                NumberOfThreads = 1,
                L2Regularization = options.L2Regularization,
                MaximumNumberOfIterations = options.Iterations,
            }));
        var transformer = pipeline.Fit(context.Data.LoadFromEnumerable(rows, schema));
        var linearModel = transformer.LastTransformer.Model;

        VBuffer<float>[] weights = [];
        linearModel.GetWeights(ref weights, out int classCount);
        var linear = nn.Linear(length, classCount);
        using (NewDisposeScope())   // the copies' source tensors; the layer's own parameters live on with the model
        using (no_grad())
        {
            linear.weight!.copy_(tensor(weights.SelectMany(w => w.DenseValues()).ToArray(), [classCount, length]));
            linear.bias!.copy_(tensor(linearModel.GetBiases().ToArray()));
        }
        var network = nn.Sequential(("hog", (nn.Module<Tensor, Tensor>)hog), ("linear", linear));
        int channels = (int)images.shape[1];
        var input = new InputSpec(channels, (int)images.shape[2], (int)images.shape[3], new float[channels], Enumerable.Repeat(1f, channels).ToArray());
        var model = new VisionModel("hog-linear", $"HOG ({length} values) + multiclass logistic regression trained by ML.NET SDCA on {images.shape[0]} images",
            network, input, classNames, "hog", device);
        return new HogClassifier(model, context, schema, transformer);
    }

    /// <summary>
    /// Class probabilities computed by ML.NET's own prediction engine (N x classes), from HOG descriptors of the images:
    /// the reference the TorchSharp copy (<see cref="VisionModel.Probabilities"/> of <see cref="Model"/>) must agree with.
    /// </summary>
    public Tensor MlNetProbabilities(Tensor images)
    {
        Model.CheckInput(images);
        var engine = context.Model.CreatePredictionEngine<HogRow, HogPrediction>(trained, inputSchemaDefinition: schema);
        var scores = Descriptors(Hog, images).Select(features => engine.Predict(new HogRow { Features = features }).Score).ToList();
        return tensor(scores.SelectMany(s => s).ToArray(), [scores.Count, scores[0].Length]);
    }

    /// <summary>The fraction of <paramref name="images"/> whose predicted class is their label.</summary>
    public double Accuracy(Tensor images, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var predicted = Model.Probabilities(images).argmax(1).cpu();
        return predicted.eq(labels.to(ScalarType.Int64).cpu()).to(ScalarType.Float32).mean().item<float>();
    }

    static List<float[]> Descriptors(Hog hog, Tensor images)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var descriptors = hog.forward(images.detach().cpu().to(ScalarType.Float32));
        long length = descriptors.shape[1];
        var values = descriptors.contiguous().data<float>().ToArray();
        return Enumerable.Range(0, (int)descriptors.shape[0]).Select(i => values.AsSpan(i * (int)length, (int)length).ToArray()).ToList();
    }

    static SchemaDefinition Schema(long length)
    {
        var schema = SchemaDefinition.Create(typeof(HogRow));
        schema[nameof(HogRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, (int)length);
        return schema;
    }

    const string KeyColumn = "LabelKey";

    /// <summary>One training or query row: a descriptor and its class index.</summary>
    sealed class HogRow
    {
        public float[] Features { get; set; } = [];
        public int Label { get; set; }
    }

    sealed class HogPrediction
    {
        public float[] Score { get; set; } = [];
    }

    public void Dispose() => Model.Dispose();
}
