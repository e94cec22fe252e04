using System.Text.RegularExpressions;
using WhatNetworksLearn.Data;
using WhatNetworksLearn.Features;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Synthesis;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

/// <summary>
/// The unit explorer (notebook 19) on fashion-cnn and six Fashion-MNIST images seen at two scales: what it writes is
/// what the kit's techniques compute, and in headless Chromium, offline, choosing each unit shows that unit's images.
/// </summary>
public sealed partial class UnitExplorerTests : IDisposable
{
    readonly string folder = Directory.CreateTempSubdirectory("explorer-").FullName;
    static readonly string[] Layers = ["relu1", "relu2", "relu3"];
    const int UnitsPerLayer = 2, RegionsPerUnit = 3, MapPhotos = 2;

    [GeneratedRegex("data-(?<name>units|shown|loaded|failed)=\"(?<value>\\d+)\"")]
    private static partial Regex Counts();

    UnitExplorerPage Write(VisionModel model, IReadOnlyList<Tensor> photos, CandidateViews views) =>
        UnitExplorer.Write(model, photos, photos.Select((_, i) => $"photo{i}").ToList(), views, Layers, folder,
            new UnitExplorerOptions(UnitsPerLayer, RegionsPerUnit, MapPhotos, new MaximizationOptions(Steps: 3)));

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
