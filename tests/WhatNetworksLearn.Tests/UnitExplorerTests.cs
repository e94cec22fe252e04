using System.Text.RegularExpressions;
using WhatNetworksLearn.Data;
using WhatNetworksLearn.Features;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using WhatNetworksLearn.Synthesis;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

/// <summary>
/// The unit explorer (notebook 19) on fashion-cnn and six Fashion-MNIST images seen at two scales: what it writes is
/// what the kit's techniques compute, and in headless Chromium, offline, choosing each unit shows that unit's images.
/// </summary>
public sealed partial class UnitExplorerTests(ITestOutputHelper output) : IDisposable
{
    readonly string folder = Directory.CreateTempSubdirectory("explorer-").FullName;
    static readonly string[] Layers = ["relu1", "relu2", "relu3"];
    const int UnitsPerLayer = 2, RegionsPerUnit = 3, MapPhotos = 2;

    [GeneratedRegex("data-(?<name>units|shown|loaded|failed)=\"(?<value>\\d+)\"")]
    private static partial Regex Counts();

    UnitExplorerPage Write(VisionModel model, IReadOnlyList<Tensor> photos, CandidateViews views) =>
        UnitExplorer.Write(model, photos, photos.Select((_, i) => $"photo{i}").ToList(), views, Layers, folder,
            new UnitExplorerOptions(UnitsPerLayer, RegionsPerUnit, MapPhotos, new FeatureVisualizationOptions(Steps: 3)));

    [Fact]
    public void Each_unit_gets_the_most_selective_channels_and_their_strongest_regions()
    {
        using var model = FashionCnn.Load(CPU);
        using var sample = FashionMnist.LoadSample(limit: 6);
        var photos = Enumerable.Range(0, 6).Select(i => sample.Images[i]).ToList();
        using var views = CandidateViews.Of(model, photos, [28, 42]);
        var page = Write(model, photos, views);

        Assert.Equal(Layers.Length * UnitsPerLayer, page.Units.Count);
        foreach (var layer in Layers)
        {
            using var scan = TopPatches.Scan(model, views, layer);
            var expected = scan.MostSelective(UnitsPerLayer).Select(u => u.Channel);
            Assert.Equal(expected, page.Units.Where(u => u.Layer == layer).Select(u => u.Channel));
            using var maps = model.Activations(views.Pixels, layer)[layer];
            foreach (var unit in page.Units.Where(u => u.Layer == layer))
            {
                Assert.Equal(RegionsPerUnit, unit.Regions.Count);
                // The first region is the unit's strongest response in any view; the others follow in order.
                Assert.Equal(maps[.., unit.Channel].max().item<float>(), unit.Regions[0].Activation, 4);
                Assert.True(unit.Regions.Zip(unit.Regions.Skip(1)).All(pair => pair.First.Activation >= pair.Second.Activation));
                Assert.Equal(MapPhotos, unit.Maps.Count);
                foreach (var file in unit.Regions.SelectMany(r => new[] { r.Crop, r.Pattern }).Append(unit.Visualisation).Concat(unit.Maps))
                    using (var image = ImageFiles.Load(Path.Combine(folder, file)))
                        Assert.True(image.shape[1] > 0 && image.shape[2] > 0);
            }
        }
        // The page lists every unit's files and nothing else of the folder is left over from another run.
        var html = File.ReadAllText(page.PagePath);
        Assert.All(page.Units, unit => Assert.Contains($"\"{unit.Visualisation}\"", html));
        Assert.Equal(page.Units.Sum(u => 1 + u.Maps.Count + 2 * u.Regions.Count) + 1, Directory.GetFiles(folder).Length);
        foreach (var t in photos)
            t.Dispose();
    }

    [Fact]
    public void Choosing_each_unit_in_a_browser_shows_its_own_images_and_they_load()
    {
        using var model = FashionCnn.Load(CPU);
        using var sample = FashionMnist.LoadSample(limit: 4);
        var photos = Enumerable.Range(0, 4).Select(i => sample.Images[i]).ToList();
        using var views = CandidateViews.Of(model, photos, [28]);
        var page = Write(model, photos, views);

        var (dom, log) = HeadlessChromium.DumpDom(page.PagePath, Path.Combine(folder, ".chromium"), "#check");
        var counts = Counts().Matches(dom).ToDictionary(m => m.Groups["name"].Value, m => int.Parse(m.Groups["value"].Value));
        Assert.True(counts.Count == 4, $"The page's check did not report. Chromium said:\n{log}");
        int images = page.Units.Sum(u => 2 + 2 * u.Regions.Count);
        Assert.Equal((page.Units.Count, page.Units.Count, images, 0), (counts["units"], counts["shown"], counts["loaded"], counts["failed"]));

        // A missing file is counted as failed, so the check can fail.
        File.Delete(Path.Combine(folder, page.Units[^1].Visualisation));
        (dom, _) = HeadlessChromium.DumpDom(page.PagePath, Path.Combine(folder, ".chromium"), "#check");
        Assert.Contains("data-failed=\"1\"", dom);
        foreach (var t in photos)
            t.Dispose();
    }

    /// <summary>
    /// Issue 19: the map's menu offered only the first four photos, so unit 191 could not be shown on the cat, its
    /// favourite. By default every photo has a map, and each unit's page opens on the photo of its strongest region.
    /// </summary>
    [Fact]
    public void The_map_menu_offers_every_bundled_photo_and_opens_on_each_units_favourite()
    {
        using var model = FashionCnn.Load(CPU);
        var files = ImageFiles.LoadFolder(Kit.DataPath("images"));
        var names = files.Select(f => Path.GetFileNameWithoutExtension(f.Name)).ToList();
        var photos = files.Select(f => f.Image).ToList();
        using var views = CandidateViews.Of(model, photos, [28]);
        var page = UnitExplorer.Write(model, photos, names, views, ["relu3"], folder,
            new UnitExplorerOptions(UnitsPerLayer: 2, RegionsPerUnit: 2, Visualisation: new FeatureVisualizationOptions(Steps: 2)));

        Assert.Equal(names, page.MapPhotos);
        Assert.Contains("chelsea", page.MapPhotos);
        foreach (var unit in page.Units)
        {
            Assert.Equal(names.Count, unit.Maps.Count);
            Assert.Equal(unit.Regions[0].Photo, page.MapPhotos[unit.FavouriteMap!.Value]);
        }
        Assert.Contains("\"chelsea\"", File.ReadAllText(page.PagePath));
        photos.ForEach(p => p.Dispose());
    }

    /// <summary>
    /// Issue 19: every region is cut from the view the network saw, so its crop and its guided pattern have the same
    /// pixels and its side is in the pixels of the photo at the network's scale, however large the photo file is.
    /// </summary>
    [Fact]
    public void Regions_are_cut_from_the_view_at_one_scale_for_every_photo()
    {
        using var model = FashionCnn.Load(CPU);
        using var small = rand(1, 28, 42, generator: new Generator(1));
        using var large = Images.Resize(small.unsqueeze(0), 280, 420)[0];   // the same picture at ten times the resolution
        using var views = CandidateViews.Of(model, [small, large], [28]);
        var page = UnitExplorer.Write(model, [small, large], ["small", "large"], views, ["relu3"], folder,
            new UnitExplorerOptions(UnitsPerLayer: 2, RegionsPerUnit: 4, Visualisation: new FeatureVisualizationOptions(Steps: 2)));
        foreach (var region in page.Units.SelectMany(u => u.Regions))
        {
            using var crop = ImageFiles.Load(Path.Combine(folder, region.Crop));
            using var pattern = ImageFiles.Load(Path.Combine(folder, region.Pattern));
            Assert.Equal(pattern.shape[1..], crop.shape[1..]);
            Assert.Equal(region.Side, (int)Math.Max(crop.shape[1], crop.shape[2]));
            Assert.True(region.Side <= 28, $"a region of {region.Photo} is {region.Side} pixels wide, more than the network's view");
        }
    }

    /// <summary>
    /// Issue 19's root cause on a toy: a unit behind a ReLU that is silent on the start everywhere has no gradient, so
    /// its image stays the start. The explorer must say so rather than show the start as what the unit looks for.
    /// </summary>
    [Fact]
    public void A_unit_whose_objective_cannot_rise_gets_a_warning()
    {
        // Unit 0 fires only above 0.75 (silent on a mid-grey start); unit 1 below 0.6 (already firing on it).
        var conv = nn.Conv2d(1, 2, 1);
        using (no_grad())
        {
            conv.weight!.copy_(tensor(new[] { 1f, -1f }).reshape(2, 1, 1, 1));
            conv.bias!.copy_(tensor(new[] { -0.75f, 0.6f }));
        }
        using var model = new VisionModel("bright-or-dark", "toy", nn.Sequential(("conv", conv), ("relu", nn.ReLU())), new InputSpec(1, 32, 32, [0f], [1f]), [], null, CPU);
        using var bright = full(1, 32, 32, 0.5f);
        using var dark = full(1, 32, 32, 0.5f);
        using (no_grad())
        {
            bright[.., 8..16, 8..16] = 0.95f;
            dark[.., 16..24, 16..24] = 0.05f;
        }
        using var views = CandidateViews.Of(model, [bright, dark], [32]);
        var page = UnitExplorer.Write(model, [bright, dark], ["bright", "dark"], views, ["relu"], folder,
            new UnitExplorerOptions(UnitsPerLayer: 2, RegionsPerUnit: 1, Visualisation: new FeatureVisualizationOptions(Steps: 8, Pad: 4) { StartNoise = 0 }));

        var silent = page.Units.Single(u => u.Channel == 0);
        var firing = page.Units.Single(u => u.Channel == 1);
        Assert.False(silent.VisualisationRise.Rose);
        Assert.True(firing.VisualisationRise.Rose, $"unit 1 went from {firing.VisualisationRise.Start} to {firing.VisualisationRise.End}");
        using (var image = ImageFiles.Load(Path.Combine(folder, silent.Visualisation)))
            Assert.Equal(0f, image.std().item<float>(), 3);   // the grey start, unchanged
        var notes = page.VisualisationNotes();
        var warning = Assert.Single(notes);
        Assert.Equal(NoteKind.Warning, warning.Kind);
        Assert.Contains("relu unit 0", warning.Text);
        Assert.Contains("did not rise", warning.Text);
        Assert.Contains("\"rose\":false", File.ReadAllText(page.PagePath));
    }

    /// <summary>
    /// Issue 19: from mid-grey, three of notebook 19's four layer4 units (those <see cref="LayerScan.MostSelective"/>
    /// picks over the bundled photos) were silent everywhere, had no gradient, and "what it looks for" was a flat grey
    /// square. With the explorer's settings each unit's image must spread and its objective must rise.
    /// </summary>
    [Fact]
    public void The_notebooks_layer4_units_get_images_that_raise_their_objective()
    {
        const string layer = "layer4.2.relu2";
        var trunk = ModelRegistry.Load(ModelRegistry.TrunkName, CPU);
        var photos = ImageFiles.LoadFolder(Kit.DataPath("images")).Select(f => f.Image).ToList();
        using var views = CandidateViews.Of(trunk, photos, [224], overlap: 0.5);   // as the notebook's
        using var scan = TopPatches.Scan(trunk, views, layer);
        var channels = scan.MostSelective(4).Select(u => u.Channel).ToList();
        using var result = FeatureVisualization.Channels(trunk, layer, channels, UnitExplorerOptions.PhotoVisualisation);
        var rises = ObjectiveRise.PerImage(result);
        for (int i = 0; i < channels.Count; i++)
        {
            float spread = result.Images[i].std().item<float>();
            output.WriteLine($"unit {channels[i]}: pixel standard deviation {spread:F3}, objective {rises[i].Start:G3} -> {rises[i].End:G3}");
            Assert.True(spread > 0.05f, $"unit {channels[i]}'s image is nearly flat: pixel standard deviation {spread:F4}");
            Assert.True(rises[i].Rose && rises[i].End > 1, $"unit {channels[i]}'s objective went from {rises[i].Start} to {rises[i].End}");
        }
        photos.ForEach(p => p.Dispose());
    }

    [Fact]
    public void Bad_settings_are_refused_before_anything_is_written()
    {
        using var model = FashionCnn.Load(CPU);
        using var image = zeros(1, 1, 28, 28);
        using var views = CandidateViews.Whole(image);
        Assert.Throws<ArgumentException>(() => UnitExplorer.Write(model, [image[0]], ["a", "b"], views, ["relu1"], folder));
        Assert.Throws<ArgumentException>(() => UnitExplorer.Write(model, [image[0]], ["a"], views, [], folder));
        Assert.ThrowsAny<ArgumentException>(() => UnitExplorer.Write(model, [image[0]], ["a"], views, ["no-such-layer"], folder));
        Assert.Empty(Directory.GetFileSystemEntries(folder));
    }

    public void Dispose() => Directory.Delete(folder, recursive: true);
}
