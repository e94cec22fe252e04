using WhatNetworksLearn.Adversarial;
using WhatNetworksLearn.Attribution;
using WhatNetworksLearn.Classical;
using WhatNetworksLearn.Data;
using WhatNetworksLearn.Evaluation;
using WhatNetworksLearn.Features;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Rendering;
using WhatNetworksLearn.Synthesis;
using static TorchSharp.torch;

namespace Catalogue;

/// <summary>
/// Every technique of the kit, each registered once. The bad-input sweep, the disposal test, the bad-options test,
/// the notebook tests and the benchmarks all read this list, so adding a technique is adding one entry here, and a
/// test (every lib type that takes a model is in some entry) makes sure none is forgotten. Smoke calls are sized for
/// the kit's Fashion-MNIST network (1 x 28 x 28).
/// </summary>
public static class Techniques
{
    public static IReadOnlyList<Technique> All { get; } =
    [
        new("occlusion", "01-occlusion", "new Occlusion(")
        {
            Types = [typeof(Occlusion)],
            OnImages = (m, x) => new Occlusion(m).Attribute(x, 0).Dispose(),
            Attribution = new((m, _) => new Occlusion(m)),
            BadOptions =
            [
                (m, x) => new Occlusion(m, new OcclusionOptions(Stride: -1)).Attribute(x, 0),
                (m, x) => new Occlusion(m, new OcclusionOptions(PatchSize: 0)).Attribute(x, 0),
                (m, x) => new Occlusion(m, new OcclusionOptions(BatchSize: 0)).Attribute(x, 0),
            ],
            Benchmarks =
            [
                new("occlusion", "28 x 28, patch 8, stride 1, fashion-cnn", b => () =>
                    new Occlusion(b.Fashion, new OcclusionOptions(PatchSize: 8, Stride: 1)).Run(b.FirstGarment, 9).Dispose()),
                new("occlusion", "224 x 224, patch 32, stride 8, ResNet-18", b => () =>
                    new Occlusion(b.ResNet, new OcclusionOptions(PatchSize: 32, Stride: 8, BatchSize: 32)).Run(b.CatImage, ImageNetClasses.Tabby).Dispose()),
            ],
        },
        new("filters", "02-filters", "Filters.FirstLayerTiles(")
        {
            Types = [typeof(Filters)],
            FromNothing = m =>
            {
                foreach (var tile in Filters.FirstLayerTiles(m).Concat(Filters.Slices(m, "conv2")))
                    tile.Image.Dispose();
            },
        },
        new("activation maps", "03-activations", "ActivationMaps.")
        {
            Types = [typeof(ActivationMaps)],
            OnImages = (m, x) =>
            {
                ActivationMaps.Of(m, x, "relu2").Dispose();
                foreach (var tile in ActivationMaps.Tiles(m, x, "relu2", channels: 4))
                    tile.Image.Dispose();
            },
        },
        new("embeddings", "04-embeddings", "Embeddings.Of(")
        {
            Types = [typeof(Embeddings)],
            OnImages = (m, x) => Embeddings.Of(m, x).Dispose(),
            BadOptions = [(m, x) => Embeddings.Of(m, x, batchSize: 0)],
        },
        new("t-SNE", "04-embeddings", "Tsne.Embed(")
        {
            Types = [typeof(Tsne)],
            FromNothing = _ =>
            {
                using var points = rand(60, 8, generator: new Generator(4));
                Tsne.Embed(points, new TsneOptions(Perplexity: 10, Iterations: 20));
            },
            BadOptions = [(_, _) => Tsne.Embed(rand(200, 5), new TsneOptions(Iterations: -1))],
            Benchmarks =
            [
                new("t-SNE", "10,000 Fashion-MNIST test images, PCA to 50, 1,000 iterations", b => () => Tsne.Embed(b.TsneFeatures)),
            ],
        },
        new("top patches", "05-top-patches", "TopPatches.Find(")
        {
            Types = [typeof(TopPatches), typeof(ReceptiveField)],
            OnImages = (m, x) => TopPatches.Find(m, x, "relu3", 0, count: 1),
            BadOptions =
            [
                (m, x) => TopPatches.Find(m, x, "relu3", 0, count: -1),
                (m, x) => TopPatches.Find(m, x, "relu3", 0, perImage: 0),
            ],
        },
        new("top regions over photos", "05-top-patches", "TopPatches.Scan(")
        {
            Types = [typeof(CandidateViews), typeof(LayerScan)],
            FromNothing = m =>
            {
                using var photo = rand(1, 30, 45, generator: new Generator(6));
                using var other = rand(1, 40, 28, generator: new Generator(7));
                using var views = CandidateViews.Of(m, [photo, other], [28, 42]);
                using var scan = TopPatches.Scan(m, views, "relu2");
                var patches = scan.Top(3, count: 2, perImage: 2);
                scan.PeakPerImage().Dispose();
                scan.MostSelective(1);
                foreach (var pattern in new UnitGradient(m, ReluBackward.Guided).Patterns(views, "relu2", 3, patches))
                    pattern.Dispose();
            },
        },
        new("guided backprop", "06-guided-backprop", "new UnitGradient(")
        {
            Types = [typeof(UnitGradient), typeof(ReluRules)],
            OnImages = (m, x) => new UnitGradient(m, ReluBackward.Guided).Of(x, "relu3", 0).Dispose(),
            Attribution = new((m, _) => new UnitGradient(m, ReluBackward.Guided)),
            Benchmarks =
            [
                new("guided backprop", "100 images, one relu3 unit, fashion-cnn", b => () =>
                    new UnitGradient(b.Fashion, ReluBackward.Guided).Of(b.Garments, "relu3", 0).Dispose()),
                new("guided backprop", "1 photo 224 x 224, one layer4 unit, ResNet-18", b => () =>
                    new UnitGradient(b.ResNet, ReluBackward.Guided).Of(b.Cat, "layer4", 0).Dispose()),
            ],
        },
        new("class saliency", "07-class-saliency", "Attributions.PerPixel(")
        {
            Types = [typeof(Attributions)],
            OnImages = (m, x) => ClassSaliency(m, x, 0).Dispose(),
            Attribution = new((m, _) => new UnitGradient(m, ReluBackward.Backprop)),
            BadOptions = [(m, x) => Attributions.PerPixel(zeros(1, 1, 2, 2), (ChannelReduction)7)],
            Benchmarks =
            [
                new("class saliency", "100 images, fashion-cnn", b => () => ClassSaliency(b.Fashion, b.Garments, 0).Dispose()),
                new("class saliency", "1 photo 224 x 224, ResNet-18", b => () => ClassSaliency(b.ResNet, b.Cat, ImageNetClasses.Tabby).Dispose()),
            ],
        },
        new("SmoothGrad", "07-class-saliency", "new SmoothGrad(")
        {
            Types = [typeof(SmoothGrad)],
            OnImages = (m, x) => new SmoothGrad(new UnitGradient(m, ReluBackward.Backprop), new SmoothGradOptions(Samples: 2)).Attribute(x, 0).Dispose(),
            Attribution = new((m, seed) => new SmoothGrad(new UnitGradient(m, ReluBackward.Backprop), new SmoothGradOptions(Samples: 4, Seed: seed)), Seeded: true),
            BadOptions =
            [
                (m, x) => new SmoothGrad(new UnitGradient(m, ReluBackward.Backprop), new SmoothGradOptions(Samples: -1)).Attribute(x, 0),
                (m, x) => new SmoothGrad(new UnitGradient(m, ReluBackward.Backprop), new SmoothGradOptions(NoiseLevel: float.NaN)).Attribute(x, 0),
            ],
        },
        new("saliency segmentation", "08-saliency-segmentation", "SaliencySegmentation.Run(")
        {
            Types = [typeof(SaliencySegmentation)],
            OnImages = (m, x) =>
            {
                using var image = x.shape[0] == 1 ? x[0] : x.alias();   // one image is C x H x W; anything else shows the error
                SaliencySegmentation.Run(m, image, 0).Dispose();
            },
            BadOptions = [(m, x) => SaliencySegmentation.Run(m, x[0], 0, options: new SegmentationOptions(Iterations: 0))],
        },
        new("grad-cam", "17-grad-cam-and-integrated-gradients", "new GradCam(")
        {
            Types = [typeof(GradCam)],
            OnImages = (m, x) => new GradCam(m, "relu3").Attribute(x, 0).Dispose(),
            Attribution = new((m, _) => new GradCam(m, "relu3")),
            Benchmarks =
            [
                new("Grad-CAM", "100 images, relu3, fashion-cnn", b => () => new GradCam(b.Fashion, "relu3").Map(b.Garments, 0).Dispose()),
                new("Grad-CAM", "1 photo 224 x 224, layer4, ResNet-18", b => () => new GradCam(b.ResNet, "layer4").Map(b.Cat, ImageNetClasses.Tabby).Dispose()),
            ],
        },
        new("grad-cam++", "17-grad-cam-and-integrated-gradients", "new GradCamPlusPlus(")
        {
            Types = [typeof(GradCamPlusPlus)],
            OnImages = (m, x) => new GradCam(m, "relu3", new GradCamPlusPlus()).Map(x, 0).Dispose(),
            Attribution = new((m, _) => new GradCam(m, "relu3", new GradCamPlusPlus())),
            Benchmarks = [new("Grad-CAM++", "100 images, relu3, fashion-cnn", b => () => new GradCam(b.Fashion, "relu3", new GradCamPlusPlus()).Map(b.Garments, 0).Dispose())],
        },
        new("deletion and insertion", "18-sanity-checks", "DeletionInsertion.Deletion(")
        {
            Types = [typeof(DeletionInsertion)],
            OnImages = (m, x) =>
            {
                using var channel = x.select(1, 0);
                using var maps = channel.abs();
                DeletionInsertion.Deletion(m, x, maps, 0, new DeletionInsertionOptions(Steps: 4)).Dispose();
                DeletionInsertion.Insertion(m, x, maps, 0, new DeletionInsertionOptions(Steps: 4, BlurSigma: 0.1)).Dispose();
            },
            BadOptions =
            [
                (m, x) => DeletionInsertion.Deletion(m, x, x.select(1, 0), 0, new DeletionInsertionOptions(Steps: 0)),
                (m, x) => DeletionInsertion.Insertion(m, x, x.select(1, 0), 0, new DeletionInsertionOptions(BlurSigma: -1)),
                (m, x) => DeletionInsertion.Deletion(m, x, x.select(1, 0), 0, new DeletionInsertionOptions(BatchSize: 0)),
            ],
            Benchmarks =
            [
                new("deletion", "100 images, 28 steps, fashion-cnn", b => () => DeletionInsertion.Deletion(b.Fashion, b.Garments, b.GarmentMaps, 0).Dispose()),
                new("insertion", "100 images, 28 steps from a blur (σ = 10 % of the side), fashion-cnn", b => () =>
                    DeletionInsertion.Insertion(b.Fashion, b.Garments, b.GarmentMaps, 0, new DeletionInsertionOptions(BlurSigma: 0.1)).Dispose()),
            ],
        },
        new("road", "18-sanity-checks", "Road.MostRelevantFirst(")
        {
            Types = [typeof(Road)],
            OnImages = (m, x) =>
            {
                using var channel = x.select(1, 0);
                using var maps = channel.abs();
                Road.MostRelevantFirst(m, x, maps, 0, new RoadOptions([0, 0.5])).Dispose();
                Road.LeastRelevantFirst(m, x, maps, 0, new RoadOptions([0, 0.5])).Dispose();
            },
            BadOptions =
            [
                (m, x) => Road.MostRelevantFirst(m, x, x.select(1, 0), 0, new RoadOptions([0, 1])),
                (m, x) => Road.LeastRelevantFirst(m, x, x.select(1, 0), 0, new RoadOptions(Noise: -0.01)),
                (m, x) => Road.MostRelevantFirst(m, x, x.select(1, 0), 0, new RoadOptions(BatchSize: 0)),
            ],
            Benchmarks =
            [
                new("ROAD", "100 images, most relevant first, 10 fractions (0 to 90 %), fashion-cnn", b => () =>
                    Road.MostRelevantFirst(b.Fashion, b.Garments, b.GarmentMaps, 0).Dispose()),
            ],
        },
        new("rise", "17-grad-cam-and-integrated-gradients", "new Rise(")
        {
            Types = [typeof(Rise)],
            OnImages = (m, x) => new Rise(m, new RiseOptions(Masks: 50)).Attribute(x, 0).Dispose(),
            Attribution = new((m, seed) => new Rise(m, new RiseOptions(Masks: 200, Seed: seed)), Seeded: true),
            BadOptions =
            [
                (m, x) => new Rise(m, new RiseOptions(Masks: 0)).Attribute(x, 0),
                (m, x) => new Rise(m, new RiseOptions(GridSize: 0)).Attribute(x, 0),
                (m, x) => new Rise(m, new RiseOptions(KeepProbability: 0)).Attribute(x, 0),
                (m, x) => new Rise(m, new RiseOptions(BatchSize: 0)).Attribute(x, 0),
            ],
            Benchmarks = [new("RISE", "1 image, 2,000 masks, fashion-cnn", b => () => new Rise(b.Fashion).Attribute(b.FirstGarment, 0).Dispose())],
        },
        new("guided grad-cam", "17-grad-cam-and-integrated-gradients", "new GuidedGradCam(")
        {
            Types = [typeof(GuidedGradCam)],
            OnImages = (m, x) => new GuidedGradCam(m, "relu3").Attribute(x, 0).Dispose(),
            Attribution = new((m, _) => new GuidedGradCam(m, "relu3")),
        },
        new("integrated gradients", "17-grad-cam-and-integrated-gradients", "new IntegratedGradients(")
        {
            Types = [typeof(IntegratedGradients)],
            OnImages = (m, x) => new IntegratedGradients(m, new IntegratedGradientsOptions(Steps: 4, Baseline: IntegrationBaseline.Blurred)).Attribute(x, 0).Dispose(),
            // The noise baseline, the one setting in which the seed matters.
            Attribution = new((m, seed) => new IntegratedGradients(m, new IntegratedGradientsOptions(Steps: 8, Baseline: IntegrationBaseline.UniformNoise, Seed: seed)), Seeded: true),
            BadOptions =
            [
                (m, x) => new IntegratedGradients(m, new IntegratedGradientsOptions(Steps: -1)).Attribute(x, 0),
                (m, x) => new IntegratedGradients(m, new IntegratedGradientsOptions(BatchSize: 0)).Attribute(x, 0),
                (m, x) => new IntegratedGradients(m, new IntegratedGradientsOptions(BlurFraction: double.NaN)).Attribute(x, 0),
                (m, x) => new IntegratedGradients(m, new IntegratedGradientsOptions(Baseline: (IntegrationBaseline)9)).Attribute(x, 0),
            ],
            Benchmarks =
            [
                new("Integrated Gradients", "100 images, 64 steps, fashion-cnn", b => () =>
                    new IntegratedGradients(b.Fashion, new IntegratedGradientsOptions(Steps: 64, BatchSize: 256)).Attribute(b.Garments, 0).Dispose()),
                new("Integrated Gradients", "1 photo 224 x 224, 32 steps in batches of 16, ResNet-18", b => () =>
                    new IntegratedGradients(b.ResNet, new IntegratedGradientsOptions(Steps: 32, BatchSize: 16)).Attribute(b.Cat, ImageNetClasses.Tabby).Dispose()),
            ],
        },
        new("cascading randomisation", "18-sanity-checks", "CascadingRandomization.Run(")
        {
            Types = [typeof(CascadingRandomization), typeof(RandomizedLayers)],
            OnImages = (m, x) => CascadingRandomization.Run(m, [("gradient", new UnitGradient(m, ReluBackward.Backprop))], x, 0, ["fc2", "conv3"]).Dispose(),
            Benchmarks =
            [
                new("cascading randomisation", "4 images, 5 stages, gradient and Grad-CAM, fashion-cnn", b => () =>
                    CascadingRandomization.Run(b.Fashion, [("gradient", new UnitGradient(b.Fashion, ReluBackward.Backprop)), ("Grad-CAM", new GradCam(b.Fashion, "relu3"))],
                        b.FirstFourGarments, 0, ["fc2", "fc1", "conv3", "conv2", "conv1"]).Dispose()),
            ],
        },
        new("unit explorer", "19-unit-explorer", "UnitExplorer.Write(")
        {
            Types = [typeof(UnitExplorer)],
            FromNothing = m =>
            {
                using var photo = rand(1, 30, 45, generator: new Generator(8));
                using var other = rand(1, 40, 28, generator: new Generator(9));
                using var views = CandidateViews.Of(m, [photo, other], [28]);
                var folder = Path.Combine(Path.GetTempPath(), $"kit-explorer-{Environment.ProcessId}");
                UnitExplorer.Write(m, [photo, other], ["a", "b"], views, ["relu1", "relu3"], folder,
                    new UnitExplorerOptions(UnitsPerLayer: 1, RegionsPerUnit: 2, MapPhotos: 1, Visualisation: new FeatureVisualizationOptions(Steps: 2)));
                Directory.Delete(folder, recursive: true);
            },
            BadOptions =
            [
                (m, x) => UnitExplorer.Write(m, [x[0]], ["x"], CandidateViews.Whole(x), ["relu1"], Path.Combine(Path.GetTempPath(), "kit-explorer-bad-options"), new UnitExplorerOptions(UnitsPerLayer: 0)),
                (m, x) => UnitExplorer.Write(m, [x[0]], ["x"], CandidateViews.Whole(x), ["relu1"], Path.Combine(Path.GetTempPath(), "kit-explorer-bad-options"), new UnitExplorerOptions(MapPhotos: 2)),
            ],
        },
        new("edge detector", "18-sanity-checks", "new EdgeDetector(")
        {
            Types = [typeof(EdgeDetector)],
            OnImages = (m, x) => new EdgeDetector(m).Attribute(x, 0).Dispose(),
            Attribution = new((m, _) => new EdgeDetector(m)),
        },
        new("class models", "09-class-models", "ActivationMaximization.ClassModels(")
        {
            Types = [typeof(ActivationMaximization), typeof(InputOptimizer), typeof(Objective)],
            FromNothing = m => ActivationMaximization.ClassModels(m, [0, 1], new MaximizationOptions(Steps: 3)).Dispose(),
            BadOptions = [(m, _) => ActivationMaximization.ClassModels(m, [0], new MaximizationOptions(Steps: -1))],
            Benchmarks =
            [
                new("class visualisation", "100 steps, 10 classes at once, fashion-cnn", b => () =>
                    ActivationMaximization.ClassModels(b.Fashion, Enumerable.Range(0, 10).ToList(), new MaximizationOptions(Steps: 100)).Dispose()),
            ],
        },
        new("feature visualisation", "09-class-models", "FeatureVisualization.Channels(")
        {
            Types = [typeof(FeatureVisualization), typeof(FourierImage), typeof(ColorDecorrelation), typeof(Adam)],
            FromNothing = m =>
            {
                foreach (var basis in new[] { ImageBasis.Fourier, ImageBasis.Pixels })   // Adam's memory included
                    FeatureVisualization.Classes(m, [0, 1], new FeatureVisualizationOptions(Steps: 3, Basis: basis, Pad: 2)).Dispose();
            },
            BadOptions =
            [
                (m, _) => FeatureVisualization.Classes(m, [0], new FeatureVisualizationOptions(Steps: -1)),
                (m, _) => FeatureVisualization.Classes(m, [0], new FeatureVisualizationOptions(StepSize: 0)),
                (m, _) => FeatureVisualization.Classes(m, [0], new FeatureVisualizationOptions(Decay: -1)),
                (m, _) => FeatureVisualization.Classes(m, [0], new FeatureVisualizationOptions(Pad: -1)),
                (m, _) => FeatureVisualization.Classes(m, [0], new FeatureVisualizationOptions(Zoom: 1)),
                (m, _) => FeatureVisualization.Classes(m, [0], new FeatureVisualizationOptions(Degrees: 400)),
            ],
            Benchmarks =
            [
                new("feature visualisation", "10 steps, one layer4 channel, pixel basis, 224 x 224, ResNet-18 trunk", b => () =>
                    FeatureVisualization.Channels(b.Trunk, "layer4.1.relu2", [101], new FeatureVisualizationOptions(Steps: 10, Basis: ImageBasis.Pixels)).Dispose()),
                new("feature visualisation", "10 steps, one layer4 channel, Fourier basis, 224 x 224, ResNet-18 trunk", b => () =>
                    FeatureVisualization.Channels(b.Trunk, "layer4.1.relu2", [101], new FeatureVisualizationOptions(Steps: 10)).Dispose()),
            ],
        },
        new("feature inversion", "04-embeddings", "FeatureInversion.Reconstruct(")
        {
            Types = [typeof(FeatureInversion)],
            OnImages = (m, x) => FeatureInversion.Reconstruct(m, x, ["relu1", "relu3"], new InversionOptions(Steps: 2)).Dispose(),
            BadOptions =
            [
                (m, x) => FeatureInversion.Reconstruct(m, x, ["relu1"], new InversionOptions(Steps: -1)),
                (m, x) => FeatureInversion.Reconstruct(m, x, ["relu1"], new InversionOptions(StepSize: 0)),
                (m, x) => FeatureInversion.Reconstruct(m, x, ["relu1"], new InversionOptions(TvWeight: -1)),
                (m, x) => FeatureInversion.Reconstruct(m, x, ["relu1"], new InversionOptions(TvExponent: 0.5)),
                (m, x) => FeatureInversion.Reconstruct(m, x, ["relu1"], new InversionOptions(Start: 2)),
                (m, x) => FeatureInversion.Reconstruct(m, x, ["relu1"], new InversionOptions(Noise: -0.1)),
            ],
            Benchmarks =
            [
                new("feature inversion", "10 steps, four depths as one batch, Fourier basis, 224 x 224, ResNet-18 trunk", b => () =>
                    FeatureInversion.Reconstruct(b.Trunk, b.Cat, ["relu", "layer1", "layer3", "layer4"], new InversionOptions(Steps: 10)).Dispose()),
            ],
        },
        new("deepdream", "10-deepdream", "DeepDream.Run(")
        {
            Types = [typeof(DeepDream)],
            OnImages = (m, x) => DeepDream.Run(m, x, new DeepDreamOptions("relu2", Octaves: 1, StepsPerOctave: 1)).Dispose(),
            BadOptions =
            [
                (m, x) => DeepDream.Run(m, x, new DeepDreamOptions("relu2", StepsPerOctave: -1)),
                (m, x) => DeepDream.Run(m, x, new DeepDreamOptions("relu2", Octaves: 0)),
            ],
            Benchmarks =
            [
                new("DeepDream", "one octave of 10 steps, 224 x 224, ResNet-18 trunk", b => () =>
                    DeepDream.Run(b.Trunk, b.Cat, new DeepDreamOptions("layer3.1.relu2", Octaves: 1, StepsPerOctave: 10)).Dispose()),
            ],
        },
        new("fgsm", "11-targeted-examples", "new Fgsm(")
        {
            Types = [typeof(Fgsm)],
            OnImages = (m, x) => WithLabels(x, labels => new Fgsm(m).Run(x, labels).Dispose()),
            Attack = new((m, _) => new Fgsm(m, new FgsmOptions(0.1)), new LInfinityBudget(0.1)),
            BadOptions = [(m, x) => WithLabels(x, labels => new Fgsm(m, new FgsmOptions(-0.03)).Run(x, labels))],
            Benchmarks = [new("FGSM", "100 images, fashion-cnn", b => () => new Fgsm(b.Fashion).Run(b.Garments, b.GarmentLabels).Dispose())],
        },
        new("pgd", "11-targeted-examples", "new Pgd(")
        {
            Types = [typeof(Pgd)],
            OnImages = (m, x) => WithLabels(x, labels => new Pgd(m, new PgdOptions(Steps: 1)).Run(x, labels).Dispose()),
            Attack = new((m, seed) => new Pgd(m, new PgdOptions(0.1, 0.025, 10, Seed: seed)), new LInfinityBudget(0.1), Seeded: true),
            BadOptions =
            [
                (m, x) => WithLabels(x, labels => new Pgd(m, new PgdOptions(Steps: -1)).Run(x, labels)),
                (m, x) => WithLabels(x, labels => new Pgd(m, new PgdOptions(StepSize: -0.01)).Run(x, labels)),
            ],
            Benchmarks =
            [
                new("PGD", "100 images, 20 steps, fashion-cnn", b => () => new Pgd(b.Fashion, new PgdOptions(Steps: 20)).Run(b.Garments, b.GarmentLabels).Dispose()),
            ],
        },
        new("apgd-ce", "20-robust-models", "new Apgd(")
        {
            Types = [typeof(Apgd)],
            OnImages = (m, x) => WithLabels(x, labels => new Apgd(m, new ApgdOptions(Iterations: 2)).Run(x, labels).Dispose()),
            Attack = new((m, seed) => new Apgd(m, new ApgdOptions(0.1, 10, seed)), new LInfinityBudget(0.1), Seeded: true),
            BadOptions =
            [
                (m, x) => WithLabels(x, labels => new Apgd(m, new ApgdOptions(Iterations: 0)).Run(x, labels)),
                (m, x) => WithLabels(x, labels => new Apgd(m, new ApgdOptions(-0.1)).Run(x, labels)),
            ],
            Benchmarks =
            [
                new("APGD-CE", "100 images, 20 iterations, fashion-cnn", b => () => new Apgd(b.Fashion, new ApgdOptions(Iterations: 20)).Run(b.Garments, b.GarmentLabels).Dispose()),
            ],
        },
        new("carlini-wagner l2", "11-targeted-examples", "new CarliniWagner(")
        {
            Types = [typeof(CarliniWagner), typeof(AttackSteps)],   // one file built from the public steps every attack uses
            OnImages = (m, x) => WithLabels(x, labels => new CarliniWagner(m, new CarliniWagnerOptions(SearchSteps: 1, Steps: 2)).Run(x, labels).Dispose()),
            Attack = new((m, _) => new CarliniWagner(m, new CarliniWagnerOptions(SearchSteps: 3, Steps: 30)),
                new NoBudget("it looks for the smallest change in L2 instead of staying within a bound")),
            BadOptions =
            [
                (m, x) => WithLabels(x, labels => new CarliniWagner(m, new CarliniWagnerOptions(Steps: 0)).Run(x, labels)),
                (m, x) => WithLabels(x, labels => new CarliniWagner(m, new CarliniWagnerOptions(SearchSteps: 0)).Run(x, labels)),
                (m, x) => WithLabels(x, labels => new CarliniWagner(m, new CarliniWagnerOptions(Confidence: -1)).Run(x, labels)),
                (m, x) => WithLabels(x, labels => new CarliniWagner(m, new CarliniWagnerOptions(InitialConstant: 0)).Run(x, labels)),
                (m, x) => WithLabels(x, labels => new CarliniWagner(m, new CarliniWagnerOptions(LearningRate: double.NaN)).Run(x, labels)),
            ],
            Benchmarks =
            [
                // One round of the search for c, not the default five: five took about a minute a run here, longer than
                // BenchmarkDotNet's in-process runner allows, which ended the whole benchmark run.
                new("Carlini-Wagner L2", "100 images, 1 round of 100 Adam steps, fashion-cnn", b => () => new CarliniWagner(b.Fashion, new CarliniWagnerOptions(SearchSteps: 1)).Run(b.Garments, b.GarmentLabels).Dispose()),
            ],
        },
        new("robust accuracy", "20-robust-models", "RobustAccuracy.Evaluate(")
        {
            Types = [typeof(RobustAccuracy)],
            OnImages = (m, x) => WithLabels(x, labels => RobustAccuracy.Evaluate(m, x, labels, new RobustnessOptions(PgdSteps: 1, PgdRestarts: 1, ApgdIterations: 1))),
            BadOptions =
            [
                (m, x) => WithLabels(x, labels => RobustAccuracy.Evaluate(m, x, labels, new RobustnessOptions(PgdRestarts: 0))),
                (m, x) => WithLabels(x, labels => RobustAccuracy.Evaluate(m, x, labels, new RobustnessOptions(Epsilon: -0.1))),
            ],
        },
        new("feature attack", "11-targeted-examples", "new FeatureAttack(")
        {
            Types = [typeof(FeatureAttack)],
            OnImages = (m, x) =>
            {
                using var mirrored = x.flip(3);   // the guide: the same images mirrored
                new FeatureAttack(m, new FeatureAttackOptions(Steps: 1)).Run(x, mirrored).Dispose();
            },
            BadOptions =
            [
                (m, x) => new FeatureAttack(m, new FeatureAttackOptions(Steps: -1)).Run(x, x),
                (m, x) => new FeatureAttack(m, new FeatureAttackOptions(Epsilon: -0.01)).Run(x, x),
                (m, x) => new FeatureAttack(m, new FeatureAttackOptions(StepFraction: 0)).Run(x, x),
            ],
            Benchmarks =
            [
                new("feature attack", "one photo at four budgets as one batch, 10 steps, 224 x 224, ResNet-18 trunk", b => () =>
                {
                    using var mirrored = b.Cat.flip(3);
                    new FeatureAttack(b.Trunk).Sweep(b.Cat, mirrored, [1.0 / 255, 2.0 / 255, 4.0 / 255, 8.0 / 255]).Dispose();
                }),
            ],
        },
        new("fooling images by gradient ascent", "12-fooling-images", "FoolingImages.ByGradientAscent(")
        {
            Types = [typeof(FoolingImages)],
            FromNothing = m => FoolingImages.ByGradientAscent(m, [0, 1], new GradientFoolingOptions(Steps: 2)).Dispose(),
            BadOptions = [(m, _) => FoolingImages.ByGradientAscent(m, [0], new GradientFoolingOptions(Steps: -3))],
            Benchmarks =
            [
                new("fooling images", "gradient ascent, 10 classes, 10 steps, fashion-cnn", b => () =>
                    FoolingImages.ByGradientAscent(b.Fashion, Enumerable.Range(0, 10).ToList(), new GradientFoolingOptions(Steps: 10, Goal: 0.999999)).Dispose()),
            ],
        },
        new("fooling images by evolution", "12-fooling-images", "FoolingImages.ByEvolution(")
        {
            Types = [typeof(FoolingImages)],
            FromNothing = m => FoolingImages.ByEvolution(m, [0, 1], new EvolutionOptions(Generations: 2, Population: 4)).Dispose(),
            BadOptions = [(m, _) => FoolingImages.ByEvolution(m, [0], new EvolutionOptions(Generations: -1))],
            Benchmarks =
            [
                new("fooling images", "evolution, one generation of 100, fashion-cnn", b => () =>
                    FoolingImages.ByEvolution(b.Fashion, Enumerable.Range(0, 10).ToList(), new EvolutionOptions(Generations: 1, Population: 100)).Dispose()),
            ],
        },
        new("fooling images by evolution of a CPPN", "12-fooling-images", "GenomeEncoding.Cppn")
        {
            Types = [typeof(Cppn)],
            FromNothing = m => FoolingImages.ByEvolution(m, [0, 1], new EvolutionOptions(Generations: 2, Population: 4, Encoding: GenomeEncoding.Cppn)).Dispose(),
            BadOptions =
            [
                (m, _) => FoolingImages.ByEvolution(m, [0], new EvolutionOptions(Encoding: GenomeEncoding.Cppn) { Cppn = new Cppn(HiddenLayers: 0) }),
                (m, _) => FoolingImages.ByEvolution(m, [0], new EvolutionOptions(Encoding: GenomeEncoding.Cppn) { Cppn = new Cppn(WeightLimit: -1) }),
            ],
            Benchmarks =
            [
                new("fooling images", "evolution, CPPN genome, one generation of 100, fashion-cnn", b => () =>
                    FoolingImages.ByEvolution(b.Fashion, Enumerable.Range(0, 10).ToList(), new EvolutionOptions(Generations: 1, Population: 100, Encoding: GenomeEncoding.Cppn)).Dispose()),
            ],
        },
        new("one pixel", "13-one-pixel", "new OnePixel(")
        {
            Types = [typeof(OnePixel)],
            OnImages = (m, x) => WithLabels(x, labels => new OnePixel(m, new OnePixelOptions(Population: 4, Iterations: 1)).Run(x, labels).Dispose()),
            Attack = new((m, seed) => new OnePixel(m, new OnePixelOptions(Population: 40, Iterations: 10, Seed: seed)), new ChangedPixelsBudget(1), Seeded: true),
            BadOptions =
            [
                (m, x) => WithLabels(x, labels => new OnePixel(m, new OnePixelOptions(Iterations: -1)).Run(x, labels)),
                (m, x) => WithLabels(x, labels => new OnePixel(m, new OnePixelOptions(Pixels: 0)).Run(x, labels)),
            ],
            Benchmarks =
            [
                new("one-pixel attack", "one generation of 400 candidates, fashion-cnn", b => () =>
                    new OnePixel(b.Fashion, new OnePixelOptions(Population: 400, Iterations: 1)).Run(b.FirstGarmentBatch, b.FirstLabel).Dispose()),
            ],
        },
        new("one-pixel scan and rates", "13-one-pixel", "ShippedOnePixel.ReadAll(")
        {
            Types = [typeof(OnePixelRates)],
            OnImages = (m, x) => WithLabels(x, labels => OnePixelRates.Measure(m, x, labels, new OnePixelOptions(Population: 4, Iterations: 1), [0f, 1f], _ => true)),
            BadOptions =
            [
                (m, x) => WithLabels(x, labels => OnePixelRates.Measure(m, x, labels, new OnePixelOptions(), [1.5f])),
                (m, x) => WithLabels(x, labels => OnePixelRates.Measure(m, x, labels, new OnePixelOptions(Population: 3), [0f])),
            ],
            Benchmarks =
            [
                new("one-pixel scan", "every position at 3 values (2,352 images), fashion-cnn", b => () =>
                    new OnePixel(b.Fashion).Scan(b.FirstGarmentBatch, b.FirstLabel, [0f, 0.5f, 1f])),
            ],
        },
        new("adversarial patch", "14-adversarial-patch", "new AdversarialPatch(")
        {
            Types = [typeof(AdversarialPatch), typeof(PatchSizes)],   // PatchSizes.Sweep trains and judges patches of several sizes
            OnImages = (m, x) => WithLabels(x, labels =>
            {
                var attack = new AdversarialPatch(m, new PatchOptions(PatchSize: 6, Steps: 1, BatchSize: 1));
                using var training = attack.Train(x, 1);
                attack.Evaluate(training.Patch, x, labels, 1).Dispose();
            }),
            BadOptions =
            [
                (m, x) => new AdversarialPatch(m, new PatchOptions(Steps: -1)).Train(x, 1),
                (m, x) => new AdversarialPatch(m, new PatchOptions(BatchSize: 0)).Train(x, 1),
            ],
            Benchmarks =
            [
                new("adversarial patch", "10 training steps of 32 images, 9 x 9 patch, fashion-cnn", b => () =>
                    new AdversarialPatch(b.Fashion, new PatchOptions(Steps: 10)).Train(b.Garments, 5).Dispose()),
            ],
        },
        new("print and photo", "15-physical-world", "new PrintAndPhoto(")
        {
            Types = [typeof(PrintAndPhoto)],
            OnImages = (m, x) => WithLabels(x, labels => new PrintAndPhoto().Survival(m, x, x, labels)),
            BadOptions =
            [
                (m, x) => WithLabels(x, labels => new PrintAndPhoto(new PrintAndPhotoOptions(Degrees: -1)).Survival(m, x, x, labels)),
                (m, x) => WithLabels(x, labels => new PrintAndPhoto().Survival(m, x, x, labels, photos: 0)),
            ],
        },
        new("eot-pgd", "15-physical-world", "RobustTo:")
        {
            Types = [typeof(Pgd)],
            OnImages = (m, x) => WithLabels(x, labels => new Pgd(m, new PgdOptions(Steps: 1, RobustTo: new PrintAndPhoto(), Draws: 2)).Run(x, labels).Dispose()),
            Attack = new((m, seed) => new Pgd(m, new PgdOptions(0.1, 0.025, 5, Seed: seed, RobustTo: new PrintAndPhoto(), Draws: 2)), new LInfinityBudget(0.1), Seeded: true),
            BadOptions = [(m, x) => WithLabels(x, labels => new Pgd(m, new PgdOptions(RobustTo: new PrintAndPhoto(), Draws: 0)).Run(x, labels))],
            Benchmarks =
            [
                new("EOT-PGD", "100 images, 8 steps, 4 print-and-photo draws per step, fashion-cnn", b => () =>
                    new Pgd(b.Fashion, new PgdOptions(0.1, 0.025, 8, RobustTo: new PrintAndPhoto(), Draws: 4)).Run(b.Garments, b.GarmentLabels).Dispose()),
            ],
        },
        new("HOG", "16-hog-adversarial", "new Hog(")
        {
            Types = [typeof(Hog), typeof(HogGlyphs)],
            BadOptions = [(_, _) => new Hog(new HogOptions(CellSize: 0))],
            Benchmarks =
            [
                new("HOG", "forward and backward, 100 images 28 x 28, cells of 4", b => () =>
                {
                    using var input = b.Garments.detach().requires_grad_(true);
                    using var descriptor = b.Hog.forward(input);
                    using var sum = descriptor.sum();
                    sum.backward();
                    input.grad?.Dispose();
                }),
            ],
        },
        new("HOG classifier", "16-hog-adversarial", "HogClassifier.Train(")
        {
            Types = [typeof(HogClassifier)],
            FromNothing = _ =>
            {
                using var images = rand(10, 1, 28, 28, generator: new Generator(5));
                using var labels = arange(10L);
                using var hog = HogClassifier.Train(images, labels, FashionMnist.ClassNames);
                using var scores = hog.Model.Forward(images);
            },
            BadOptions = [(_, x) => HogClassifier.Train(x, zeros(x.shape[0], ScalarType.Int64), FashionMnist.ClassNames, new HogClassifierOptions(Iterations: 0))],
        },
    ];

    /// <summary>The class saliency map (N x H x W): the class score's plain gradient, one value per pixel.</summary>
    static Tensor ClassSaliency(VisionModel model, Tensor images, int targetClass)
    {
        using var gradient = new UnitGradient(model, ReluBackward.Backprop).Attribute(images, targetClass);
        return Attributions.PerPixel(gradient);
    }

    /// <summary>Runs <paramref name="run"/> with a label 0 for every image, and disposes the labels.</summary>
    static void WithLabels(Tensor images, Action<Tensor> run)
    {
        using var labels = zeros(images.shape[0], ScalarType.Int64);
        run(labels);
    }
}
