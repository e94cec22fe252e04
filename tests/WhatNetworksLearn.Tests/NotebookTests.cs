using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using NotebookRunner;

namespace WhatNetworksLearn.Tests;

/// <summary>Every notebook runs headless in a fresh kernel and draws the figures it promises.</summary>
public class NotebookTests
{
    /// <summary>The figures (by file name, from their titles) each notebook must produce.</summary>
    internal static readonly Dictionary<string, string[]> ExpectedFigures = new()
    {
        ["00-setup"] = ["a-sample-photo-chelsea-the-cat", "gradient-of-a-3x3-convolution"],
        ["00-models"] = ["fashion-mnist-test-images-and-fashion-cnn-s-predictions", "training-fashion-cnn-accuracy-per-epoch",
            "photos-as-the-resnet-18-trunk-sees-them-224-x-224-with-cosine-similarity-to-the-cat"],
        ["01-occlusion"] = ["occlusion-saliency-the-probability-of-the-predicted-class-as-a-black-patch-slides-over-the-image",
            "occlusion-maps-of-five-classes-with-a-black-patch-middle-row-and-a-grey-patch-bottom-row-red-hiding-it-lowers-the-probability",
            "occlusion-on-the-cat-with-the-resnet-18-trunk-how-far-a-grey-32-pixel-patch-steps-of-24-moves-its-512-features-as-1-cosine-similarity",
            "occlusion-on-a-photo-with-resnet-18-a-grey-32-pixel-patch-moved-in-steps-of-16"],
        ["02-filters"] = ["first-layer-filters-of-resnet-18-trained-on-imagenet-64-filters-3-x-7-x-7", "first-layer-filters-of-fashion-cnn-32-filters-1-x-5-x-5",
            "fashion-cnn-conv2-6-filters-their-3-x-3-slices-for-the-first-10-input-channels",
            "resnet-18-layer3-0-conv1-6-filters-3-x-3-slices-for-10-of-128-input-channels"],
        ["03-activations"] = ["fashion-cnn-relu1-feature-maps-for-one-image", "fashion-cnn-relu2-feature-maps-for-one-image",
            "fashion-cnn-relu3-feature-maps-for-one-image", "resnet-18-relu-16-feature-maps-of-the-cat", "resnet-18-layer4-1-relu2-16-feature-maps-of-the-cat"],
        ["04-embeddings"] = ["six-nearest-neighbours-in-fashion-cnn-s-embedding-space-query-in-the-first-column",
            "six-nearest-neighbours-in-pixel-space-for-comparison",
            "the-cat-reconstructed-from-the-resnet-18-trunk-s-features-at-four-depths-feature-inversion-30-steps",
            "t-sne-objective-kullback-leibler-divergence-per-iteration",
            "t-sne-map-of-fashion-cnn-s-embeddings-of-2-000-test-images-every-10th-image-drawn", "t-sne-map-of-the-raw-pixels-of-the-same-2-000-images"],
        ["05-top-patches"] = ["top-regions-for-six-relu3-units-of-fashion-cnn-one-row-per-unit-activation-under-each-crop",
            "where-the-best-regions-lie-in-their-images-box-receptive-field-label-activation",
            "the-four-most-selective-units-of-layer1-1-relu2-resnet-18-imagenet-and-their-top-regions-over-33-photos-at-three-scales",
            "the-four-most-selective-units-of-layer2-1-relu2-resnet-18-imagenet-and-their-top-regions-over-33-photos-at-three-scales",
            "the-four-most-selective-units-of-layer4-2-relu2-resnet-18-imagenet-and-their-top-regions-over-33-photos-at-three-scales",
            "each-layer4-unit-s-regions-in-its-best-photo-box-a-window-the-unit-saw-label-activation"],
        ["06-guided-backprop"] = ["one-neuron-of-resnet-18-s-last-layer-layer4-2-relu2-three-backward-rules-three-photos",
            "one-relu3-unit-of-fashion-cnn-three-backward-rules-rows-images-grey-0",
            "four-relu3-units-of-fashion-cnn-guided-patterns-above-their-top-crops",
            "resnet-18-imagenet-four-layer2-units-guided-patterns-above-their-top-crops",
            "resnet-18-imagenet-four-layer3-units-guided-patterns-above-their-top-crops",
            "resnet-18-imagenet-the-predicted-class-s-score-backpropagated-to-the-cat-by-three-rules"],
        ["07-class-saliency"] = ["class-saliency-of-the-predicted-class-for-one-image-gradient-its-magnitude-overlay",
            "class-saliency-maps-of-fashion-cnn-over-the-images-plain-and-smoothgrad-with-the-share-on-the-garment",
            "class-saliency-maps-of-resnet-18-on-photos-plain-smoothgrad-and-smoothgrad-over-the-photo", "plain-class-saliency-of-fashion-cnn-middle-row-and-of-the-adversarially-trained-fashion-cnn-robust-bottom-row"],
        ["08-saliency-segmentation"] = ["saliency-guided-segmentation-of-one-garment-grabcut-from-seeds-top-row-and-from-the-box-bottom-row",
            "saliency-guided-segmentation-of-six-fashion-mnist-images-from-the-saliency-s-box-image-and-box-cut-out-cut-vs-garment",
            "segmentation-of-a-photo-from-the-saliency-of-the-resnet-18-trunk-s-features",
            "guided-segmentation-of-photos-from-resnet-18-s-class-saliency-seeds-and-cut-outs", "grabcut-from-the-saliency-s-box-of-fashion-cnn-and-of-fashion-cnn-robust-the-garment-then-each-cut-vs-the-garment-with-its-box"],
        ["09-class-models"] = ["class-models-of-fashion-cnn-the-image-each-class-likes-best", "class-models-of-fashion-cnn-robust-labelled-by-fashion-cnn", "class-models-objective-s-c-i-lambda-i-2-per-step",
            "class-model-of-trouser-with-more-and-more-regularisers", "what-channels-of-resnet-18-look-for-two-of-layer3-two-of-layer4",
            "class-models-of-resnet-18-trained-on-imagenet-ostrich-dalmatian-lemon",
            "the-same-channels-optimised-in-pixels-and-in-the-fourier-basis-with-decorrelated-colours"],
        ["10-deepdream"] = ["deepdream-on-resnet-18-the-photo-and-the-dreams-of-three-layers-shallow-to-deep",
            "the-dream-at-layer3-1-relu2-after-each-octave", "deepdream-at-layer3-1-relu2-mean-square-of-the-activations-per-step"],
        ["11-targeted-examples"] = ["everything-becomes-a-bag-originals-amplified-changes-and-adversarial-images-targeted-pgd-eps-0-1",
            "one-garment-under-targeted-pgd-towards-bag-at-five-budgets-eps-0-01-to-0-1",
            "attack-success-rate-against-the-budget-eps-300-images",
            "towards-bag-with-the-shortest-change-pgd-s-and-carlini-wagner-s-changes-on-one-scale-and-carlini-wagner-s-adversarial-images",
            "the-same-targeted-pgd-eps-0-1-goal-bag-against-fashion-cnn-robust-originals-amplified-changes-and-adversarial-images",
            "make-everything-an-ostrich-photos-amplified-changes-and-adversarial-photos-resnet-18-targeted-pgd-eps-4-255",
            "the-cat-moved-towards-the-coffee-cup-in-the-trunk-s-feature-space-photo-amplified-change-changed-photo"],
        ["12-fooling-images"] = ["gradient-ascent-from-noise-one-image-per-class-with-the-network-s-confidence",
            "evolution-direct-encoding-the-elite-of-each-class-and-its-confidence",
            "evolution-low-resolution-encoding-the-elite-of-each-class-and-its-confidence",
            "evolution-cppn-encoding-the-elite-of-each-class-and-its-confidence", "confidence-of-the-elites-against-generation"],
        ["13-one-pixel"] = ["one-pixel-attacks-the-original-and-the-changed-image-circle-the-changed-pixel",
            "images-broken-by-one-pixel-against-queries-per-image"],
        ["14-adversarial-patch"] = ["training-the-9-x-9-patch",
            "the-trained-patch-and-a-noise-patch-of-the-same-size-9-x-9-pixels-enlarged",
            "held-out-garments-clean-with-the-noise-patch-with-the-trained-sandal-patch-four-it-fools-four-it-does-not",
            "success-against-the-size-of-the-patch-1-000-held-out-images",
            "make-everything-a-toaster-the-trained-patch-on-held-out-photos-it-never-saw-resnet-18"],
        ["15-physical-world"] = ["three-images-through-the-simulated-print-and-photo-one-step-per-column",
            "originals-plain-pgd-and-eot-pgd-examples-before-and-after-the-print-and-photo",
            "photos-through-the-simulated-camera-clean-plain-pgd-and-eot-pgd-examples-resnet-18-eps-8-255"],
        ["16-hog-adversarial"] = ["what-the-hog-classifier-sees-images-and-their-hog-glyphs",
            "pgd-against-hog-plus-a-linear-classifier-eps-0-05-images-hog-glyphs-change-adversarial-images",
            "hog-vs-cnn-attack-success-rate-against-eps-120-images", "the-cafe-wall-illusion-and-what-hog-sees-in-it"],
        ["17-grad-cam-and-integrated-gradients"] = ["grad-cam-of-the-predicted-class-at-relu3-enlarged-and-guided-grad-cam",
            "grad-cam-of-the-predicted-class-at-four-depths-of-fashion-cnn",
            "grad-cam-left-and-guided-grad-cam-right-for-the-three-most-likely-classes",
            "integrated-gradients-of-ankle-boot-from-three-baselines-64-steps",
            "four-images-explained-by-six-methods-magnitudes",
            "grad-cam-grad-cam-and-rise-for-the-predicted-class",
            "grad-cam-of-the-resnet-18-trunk-s-feature-total-on-three-photos",
            "resnet-18-imagenet-grad-cam-guided-grad-cam-and-integrated-gradients-of-the-top-class"],
        ["18-sanity-checks"] = ["cascading-randomisation-six-maps-of-one-ankle-boot-as-fashion-cnn-s-layers-turn-random-from-the-top",
            "cascading-randomisation-six-maps-of-one-pullover-as-fashion-cnn-s-layers-turn-random-from-the-top",
            "rank-correlation-with-the-trained-network-s-map-mean-over-50-images",
            "deletion-and-road-on-one-garment-the-pixels-one-map-ranks-first-painted-black-or-filled-from-their-neighbours",
            "resnet-18-imagenet-four-maps-of-the-cat-photo-as-the-layers-turn-random-from-the-top"],
        ["19-unit-explorer"] = ["the-unit-explorer-s-first-unit-of-each-stage-what-it-looks-for-its-map-its-top-regions-and-their-patterns"],
        ["20-robust-models"] = ["adversarial-training-of-fashion-cnn-robust-accuracy-per-epoch",
            "accuracy-under-pgd-10-against-the-budget-eps-100-test-images",
            "class-saliency-of-fashion-cnn-middle-row-and-fashion-cnn-robust-bottom-row-on-the-same-images",
            "class-models-of-fashion-cnn-top-and-fashion-cnn-robust-bottom-each-labelled-by-the-other-network",
            "targeted-pgd-at-eps-0-3-against-fashion-cnn-robust-top-five-rows-and-against-fashion-cnn-bottom-five-labelled-by-the-other-network"],
    };

    /// <summary>
    /// The notebooks with an ImageNet branch. The tests run them on stand-in weights (random, made here), so the branch
    /// must run and must announce the stand-in on screen.
    /// </summary>
    static readonly HashSet<string> ImageNetNotebooks = ["00-models", "01-occlusion", "06-guided-backprop", "07-class-saliency", "08-saliency-segmentation",
        "09-class-models", "11-targeted-examples", "14-adversarial-patch", "15-physical-world", "17-grad-cam-and-integrated-gradients",
        "18-sanity-checks"];

    const string StandInAnnouncement = "Stand-in weights: the figures are meaningless.";

    /// <summary>The interactive charts (by file name) a notebook must save as pages of their own, plotly.js included.</summary>
    static readonly Dictionary<string, string[]> ExpectedCharts = new()
    {
        ["04-embeddings"] = ["t-sne-map-of-fashion-cnn-s-embeddings-hover-for-the-label"],
    };

    static readonly string Root = Kit.Root(AppContext.BaseDirectory);
    static readonly Lazy<bool> ToolsRestored = new(() => { Workspace.RestoreTools(Root); return true; });
    static readonly Lazy<Dictionary<string, string>> StandIns =
        new(() => StandInWeights.Environment(StandInWeights.Create(Path.Combine(Root, "artifacts", "stand-in-weights"))));

    public static TheoryData<string> Notebooks() =>
        new(Workspace.Notebooks(Root).Select(Path.GetFileNameWithoutExtension).Select(name => name!));

    static string PathOf(string name) => Path.Combine(Root, "notebooks", name + ".ipynb");

    [Theory]
    [MemberData(nameof(Notebooks))]
    public void Runs_headless_and_draws_its_figures(string name)
    {
        Assert.True(ExpectedFigures.ContainsKey(name), $"Add the figures {name} must produce to {nameof(ExpectedFigures)}.");
        Assert.True(ToolsRestored.Value);

        // With a solutions file, the run is the notebook as students get it followed by every exercise's solution and
        // typical mistake, each with its check again: one kernel covers all three states of every check.
        var notebook = PathOf(name);
        var checks = new List<ExpectedCheck>();
        if (File.Exists(Solutions.FileOf(notebook)))
        {
            var withSolutions = Path.Combine(Root, "artifacts", ".with-solutions", name + ".ipynb");
            checks = Solutions.Derive(notebook, withSolutions);
            notebook = withSolutions;
        }
        var result = NotebookRun.Execute(notebook, Path.Combine(Root, "artifacts"), Workspace.NotebookTimeout, StandIns.Value,
            workingDirectory: Path.Combine(Root, "notebooks"));
        Gallery.Write(Path.Combine(Root, "artifacts"));

        Assert.True(result.Succeeded, $"{name} failed:\n{string.Join("\n", result.Errors)}");
        var missing = ExpectedFigures[name].Except(result.FigureFiles).ToList();
        Assert.True(missing.Count == 0, $"{name} did not draw: {string.Join(", ", missing)}. It drew: {string.Join(", ", result.FigureFiles)}.");
        foreach (var figure in ExpectedFigures[name])
        {
            var png = File.ReadAllBytes(Path.Combine(Root, "artifacts", name, figure + ".png"));
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        }
        foreach (var check in checks)
        {
            var shown = result.ExerciseOutcomes.Where(e => e.Cell == check.Cell).ToList();
            Assert.True(shown.Count == 1, $"{name}, exercise {check.Exercise} ({check.Part}): its check cell showed {shown.Count} verdicts, not one.");
            Assert.True(shown[0].Status == check.Status,
                $"{name}, exercise {check.Exercise} ({check.Part}): the check said {shown[0].Status}, not {check.Status}.");
        }
        var executed = File.ReadAllText(Path.Combine(Root, "artifacts", name, name + ".ipynb"));
        Assert.True(executed.Contains(StandInAnnouncement) == ImageNetNotebooks.Contains(name),
            ImageNetNotebooks.Contains(name) ? $"{name} did not load the ImageNet classifier (or did not announce its stand-in weights)."
                : $"{name} loaded the ImageNet classifier: add it to {nameof(ImageNetNotebooks)} and its ImageNet figures to {nameof(ExpectedFigures)}.");

        foreach (var chart in ExpectedCharts.GetValueOrDefault(name, []))
        {
            Assert.Contains(chart, result.SavedCharts.Select(c => c.File));
            Assert.Contains("plotly.js (basic - minified) v2.35.3", File.ReadAllText(Path.Combine(Root, "artifacts", name, chart + ".html")));
        }
    }

    /// <summary>
    /// Issue 14's rule: every notebook after 00-setup ends with at least three exercises, and its solutions and typical
    /// mistakes are in notebooks/solutions/, so that the run above checks each exercise in all three states.
    /// </summary>
    [Fact]
    public void Every_notebook_after_setup_has_three_exercises_with_solutions()
    {
        foreach (var name in Workspace.Notebooks(Root).Select(path => Path.GetFileNameWithoutExtension(path)!).Where(name => name != "00-setup"))
        {
            var cells = JsonNode.Parse(File.ReadAllText(PathOf(name)))!["cells"]!.AsArray();
            var exercises = Solutions.StudentCells(cells).Select(e => e.Exercise).Distinct().Count();
            Assert.True(exercises >= 3, $"{name} has {exercises} exercise(s) with a student cell ('// Exercise N'); it needs at least three.");
            Assert.True(File.Exists(Solutions.FileOf(PathOf(name))), $"{name} has no solutions file ({Solutions.FileOf(PathOf(name))}).");
        }
    }

    /// <summary>
    /// A student reruns a notebook again and again in one kernel, which keeps every run's variables alive: the models
    /// and data it loads must be the ones already in memory. 02-filters loads the ImageNet trunk (45 MB of weights) and
    /// fashion-cnn; run three times over, each rerun may add what the kernel itself adds (about 9 MB a rerun even for
    /// 00-setup, which loads nothing: every cell run is compiled anew) but not another trunk. Figures for twenty
    /// reruns: tests/Benchmarks/README.md.
    /// </summary>
    [Fact]
    public void Rerunning_a_notebook_in_one_kernel_does_not_load_its_model_again()
    {
        Assert.True(ToolsRestored.Value);
        const int runs = 3;
        var result = NotebookRun.ExecuteReruns(PathOf("02-filters"), Path.Combine(Root, "artifacts"), runs, runs * Workspace.NotebookTimeout);
        Assert.True(result.Succeeded, $"02-filters failed when rerun:\n{string.Join("\n", result.Errors)}");
        Assert.Equal(runs, result.MegabytesAfterEachRun.Count);
        var perRerun = result.GrowthMegabytes / (runs - 1);
        Assert.True(perRerun <= 25,
            $"Memory after each run: {string.Join(", ", result.MegabytesAfterEachRun.Select(mb => $"{mb:F0} MB"))}: {perRerun:F0} MB a rerun, " +
            "more than the kernel's own growth; is a model or data set loaded again?");
    }

    [Theory]
    [MemberData(nameof(Notebooks))]
    public void Is_committed_without_outputs_and_opens_with_the_csharp_kernel(string name)
    {
        var notebook = JsonNode.Parse(File.ReadAllText(PathOf(name)))!;
        Assert.Equal(".net-csharp", notebook["metadata"]!["kernelspec"]!["name"]!.GetValue<string>());
        Assert.Equal("csharp", notebook["metadata"]!["polyglot_notebook"]!["kernelInfo"]!["defaultKernelName"]!.GetValue<string>());
        var codeCells = notebook["cells"]!.AsArray().Where(c => c!["cell_type"]!.GetValue<string>() == "code").ToList();
        Assert.NotEmpty(codeCells);
        foreach (var cell in codeCells)
        {
            Assert.Equal("csharp", cell!["metadata"]!["polyglot_notebook"]!["kernelName"]!.GetValue<string>());
            Assert.Empty(cell["outputs"]!.AsArray());
            Assert.Null(cell["execution_count"]?.GetValue<int?>());
        }
        var first = string.Concat(codeCells[0]!["source"]!.AsArray().Select(line => line!.GetValue<string>())).Trim();
        Assert.Equal("#!import setup.dib", first);
    }

    public static TheoryData<string> CatalogueTechniques() => new(Catalogue.Techniques.All.Select(t => t.Name));

    [Theory]
    [MemberData(nameof(CatalogueTechniques))]
    public void The_notebook_of_every_technique_calls_it(string technique)
    {
        var entry = Catalogue.Techniques.All.Single(t => t.Name == technique);
        Assert.True(File.Exists(PathOf(entry.Notebook)), $"{technique}: its notebook {entry.Notebook}.ipynb does not exist.");
        Assert.True(ExpectedFigures.ContainsKey(entry.Notebook), $"{technique}: its notebook {entry.Notebook} has no figures listed.");
        var code = string.Concat(JsonNode.Parse(File.ReadAllText(PathOf(entry.Notebook)))!["cells"]!.AsArray()
            .Where(c => c!["cell_type"]!.GetValue<string>() == "code")
            .SelectMany(c => c!["source"]!.AsArray().Select(line => line!.GetValue<string>())));
        Assert.True(code.Contains(entry.NotebookCall), $"{technique}: {entry.Notebook} never calls {entry.NotebookCall}.");
    }

    [Fact]
    public void The_setup_cell_loads_the_pinned_versions()
    {
        var pins = XDocument.Load(Path.Combine(Root, "Directory.Packages.props")).Descendants("PackageVersion")
            .ToDictionary(p => p.Attribute("Include")!.Value, p => p.Attribute("Version")!.Value);
        var properties = XDocument.Load(Path.Combine(Root, "Directory.Packages.props")).Descendants("PropertyGroup").Elements()
            .GroupBy(e => e.Name.LocalName).ToDictionary(g => g.Key, g => g.First().Value);
        string Resolve(string value) => Regex.Replace(value, @"\$\((\w+)\)", m => properties[m.Groups[1].Value]);

        // setup.dib imports the package list that lib's build writes; the test project's reference to lib has just built it.
        Assert.Contains("#!import ../lib/bin/notebook-packages.dib", File.ReadAllText(Path.Combine(Root, "notebooks", "setup.dib")));
        var references = Regex.Matches(File.ReadAllText(Path.Combine(Root, "lib", "bin", "notebook-packages.dib")), "#r \"nuget: ([^,]+), ([^\"]+)\"");
        Assert.NotEmpty(references);
        foreach (Match reference in references)
            Assert.Equal(Resolve(pins[reference.Groups[1].Value]), reference.Groups[2].Value);
        var backendPackage = Platform.LocalSettings.TorchBackend(Root).Value == "cuda" ? "TorchSharp-cuda-linux" : "TorchSharp-cpu";
        Assert.Contains(references, r => r.Groups[1].Value == backendPackage);
    }
}
