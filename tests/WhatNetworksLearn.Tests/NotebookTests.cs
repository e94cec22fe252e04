using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using NotebookRunner;

namespace WhatNetworksLearn.Tests;

/// <summary>Every notebook runs headless in a fresh kernel and draws the figures it promises.</summary>
public class NotebookTests
{
    /// <summary>The figures (by file name, from their titles) each notebook must produce.</summary>
    static readonly Dictionary<string, string[]> ExpectedFigures = new()
    {
        ["00-setup"] = ["a-sample-photo-chelsea-the-cat", "gradient-of-a-3x3-convolution"],
        ["00-models"] = ["fashion-mnist-test-images-and-fashion-cnn-s-predictions", "training-fashion-cnn-accuracy-per-epoch",
            "photos-as-the-resnet-18-trunk-sees-them-224-x-224-with-cosine-similarity-to-the-cat"],
        ["01-occlusion"] = ["occlusion-saliency-the-probability-of-the-predicted-class-as-a-grey-patch-slides-over-the-image",
            "occlusion-maps-for-five-classes-image-then-map-blue-hiding-it-lowers-the-probability"],
        ["02-filters"] = ["first-layer-filters-of-resnet-18-trained-on-imagenet-64-filters-3-x-7-x-7", "first-layer-filters-of-fashion-cnn-32-filters-1-x-5-x-5",
            "fashion-cnn-conv2-6-filters-their-3-x-3-slices-for-the-first-10-input-channels",
            "resnet-18-layer3-0-conv1-6-filters-3-x-3-slices-for-10-of-128-input-channels"],
        ["03-activations"] = ["fashion-cnn-relu1-feature-maps-for-one-image", "fashion-cnn-relu2-feature-maps-for-one-image",
            "fashion-cnn-relu3-feature-maps-for-one-image", "resnet-18-relu-16-feature-maps-of-the-cat", "resnet-18-layer4-1-relu2-16-feature-maps-of-the-cat"],
        ["04-embeddings"] = ["six-nearest-neighbours-in-fashion-cnn-s-embedding-space-query-in-the-first-column",
            "six-nearest-neighbours-in-pixel-space-for-comparison", "t-sne-objective-kullback-leibler-divergence-per-iteration",
            "t-sne-map-of-fashion-cnn-s-embeddings-of-2-000-test-images-every-10th-image-drawn", "t-sne-map-of-the-raw-pixels-of-the-same-2-000-images"],
        ["05-top-patches"] = ["top-regions-for-six-relu3-units-of-fashion-cnn-one-row-per-unit-activation-under-each-crop",
            "where-the-best-regions-lie-in-their-images-box-receptive-field-label-activation"],
        ["06-guided-backprop"] = ["one-relu3-unit-of-fashion-cnn-three-backward-rules-rows-images-grey-0",
            "four-relu3-units-of-fashion-cnn-guided-patterns-above-their-top-crops",
            "resnet-18-imagenet-two-layer2-units-guided-patterns-above-their-top-crops",
            "resnet-18-imagenet-three-layer3-units-guided-patterns-above-their-top-crops"],
        ["07-class-saliency"] = ["class-saliency-of-the-predicted-class-for-one-image-gradient-its-magnitude-overlay",
            "class-saliency-maps-of-fashion-cnn-each-image-beside-the-map-of-its-predicted-class",
            "plain-saliency-and-smoothgrad-32-noisy-copies-noise-15-side-by-side"],
        ["08-saliency-segmentation"] = ["saliency-guided-segmentation-of-one-garment-image-saliency-seeds-grabcut-mask-cut-out",
            "saliency-guided-segmentation-of-six-fashion-mnist-images-image-saliency-object-kept",
            "segmentation-of-a-photo-from-the-saliency-of-the-resnet-18-trunk-s-features"],
        ["09-class-models"] = ["class-models-of-fashion-cnn-the-image-each-class-likes-best", "class-models-objective-s-c-i-lambda-i-2-per-step",
            "class-model-of-trouser-with-more-and-more-regularisers", "what-channels-of-resnet-18-look-for-two-of-layer3-two-of-layer4"],
        ["10-deepdream"] = ["deepdream-on-resnet-18-the-photo-a-shallow-layer-s-dream-and-a-deep-layer-s-dream",
            "the-dream-at-layer3-1-relu2-after-each-octave", "deepdream-at-layer3-1-relu2-mean-square-of-the-activations-per-step"],
        ["11-targeted-examples"] = ["everything-becomes-a-bag-originals-amplified-changes-and-adversarial-images-targeted-pgd-eps-0-1",
            "attack-success-rate-against-the-budget-eps-300-images"],
        ["12-fooling-images"] = ["gradient-ascent-from-noise-one-image-per-class-with-the-network-s-confidence",
            "evolution-direct-encoding-the-elite-of-each-class-and-its-confidence",
            "evolution-low-resolution-encoding-the-elite-of-each-class-and-its-confidence",
            "evolution-cppn-encoding-the-elite-of-each-class-and-its-confidence", "confidence-of-the-elites-against-generation"],
        ["13-one-pixel"] = ["one-pixel-attacks-the-original-and-the-changed-image-circle-the-changed-pixel",
            "three-pixel-attacks-original-and-changed-image-circles-the-changed-pixels"],
        ["14-adversarial-patch"] = ["training-the-patch-mean-probability-of-sandal-on-each-batch",
            "the-trained-patch-and-a-noise-patch-of-the-same-size-14-x-14-pixels-enlarged",
            "held-out-images-clean-with-the-noise-patch-with-the-trained-sandal-patch",
            "success-rate-against-the-side-of-the-pasted-patch-150-held-out-images"],
        ["15-physical-world"] = ["three-images-through-the-simulated-print-and-photo-one-step-per-column",
            "originals-plain-pgd-and-eot-pgd-examples-before-and-after-the-print-and-photo"],
        ["16-hog-adversarial"] = ["what-the-hog-classifier-sees-images-and-their-hog-glyphs",
            "pgd-against-hog-plus-a-linear-classifier-eps-0-05-images-hog-glyphs-change-adversarial-images",
            "hog-vs-cnn-attack-success-rate-against-eps-120-images", "the-cafe-wall-illusion-and-what-hog-sees-in-it"],
    };

    static readonly string Root = Kit.Root(AppContext.BaseDirectory);
    static readonly Lazy<bool> ToolsRestored = new(() => { Workspace.RestoreTools(Root); return true; });

    public static TheoryData<string> Notebooks() =>
        new(Workspace.Notebooks(Root).Select(Path.GetFileNameWithoutExtension).Select(name => name!));

    static string PathOf(string name) => Path.Combine(Root, "notebooks", name + ".ipynb");

    [Theory]
    [MemberData(nameof(Notebooks))]
    public void Runs_headless_and_draws_its_figures(string name)
    {
        Assert.True(ExpectedFigures.ContainsKey(name), $"Add the figures {name} must produce to {nameof(ExpectedFigures)}.");
        Assert.True(ToolsRestored.Value);

        var result = NotebookRun.Execute(PathOf(name), Path.Combine(Root, "artifacts"), Workspace.NotebookTimeout);
        Gallery.Write(Path.Combine(Root, "artifacts"));

        Assert.True(result.Succeeded, $"{name} failed:\n{string.Join("\n", result.Errors)}");
        var missing = ExpectedFigures[name].Except(result.FigureFiles).ToList();
        Assert.True(missing.Count == 0, $"{name} did not draw: {string.Join(", ", missing)}. It drew: {string.Join(", ", result.FigureFiles)}.");
        foreach (var figure in ExpectedFigures[name])
        {
            var png = File.ReadAllBytes(Path.Combine(Root, "artifacts", name, figure + ".png"));
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        }
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

    [Fact]
    public void The_setup_cell_loads_the_pinned_versions()
    {
        var pins = XDocument.Load(Path.Combine(Root, "Directory.Packages.props")).Descendants("PackageVersion")
            .ToDictionary(p => p.Attribute("Include")!.Value, p => p.Attribute("Version")!.Value);
        var properties = XDocument.Load(Path.Combine(Root, "Directory.Packages.props")).Descendants("PropertyGroup").Elements()
            .GroupBy(e => e.Name.LocalName).ToDictionary(g => g.Key, g => g.First().Value);
        string Resolve(string value) => Regex.Replace(value, @"\$\((\w+)\)", m => properties[m.Groups[1].Value]);

        var references = Regex.Matches(File.ReadAllText(Path.Combine(Root, "notebooks", "setup.dib")), "#r \"nuget: ([^,]+), ([^\"]+)\"");
        Assert.NotEmpty(references);
        foreach (Match reference in references)
            Assert.Equal(Resolve(pins[reference.Groups[1].Value]), reference.Groups[2].Value);
    }
}
