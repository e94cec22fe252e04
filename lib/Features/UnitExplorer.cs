using System.Net;
using System.Text;
using System.Text.Json;
using WhatNetworksLearn.Attribution;
using WhatNetworksLearn.Data;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Notebook;
using WhatNetworksLearn.Rendering;
using WhatNetworksLearn.Synthesis;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Features;

/// <summary>
/// What the unit explorer precomputes: <paramref name="UnitsPerLayer"/> units of each layer (those that each prefer a
/// different photo most, <see cref="LayerScan.MostSelective"/>), <paramref name="RegionsPerUnit"/> top regions per unit
/// with their guided-backpropagation patterns, activation maps on the first <paramref name="MapPhotos"/> photos (all of
/// them when null), and a feature visualisation by <paramref name="Visualisation"/> (<see cref="PhotoVisualisation"/> when null).
/// </summary>
public sealed record UnitExplorerOptions(int UnitsPerLayer = 4, int RegionsPerUnit = 6, int? MapPhotos = null, FeatureVisualizationOptions? Visualisation = null)
{
    /// <summary>
    /// Notebook 09's Lucid-style feature visualisation (Fourier basis, decorrelated colours, random transforms, Adam),
    /// 20 steps, from a visible noise. From mid-grey, three of the four layer4 units notebook 19 shows (191, 361, 363)
    /// are silent everywhere, have no gradient and never move; from notebook 09's fainter noise, one (99) still did not.
    /// </summary>
    public static FeatureVisualizationOptions PhotoVisualisation { get; } = new(Steps: 20, StepSize: 0.05) { StartNoise = 0.1 };

    public void Validate(int photos)
    {
        if (UnitsPerLayer < 1)
            throw new ArgumentOutOfRangeException(nameof(UnitsPerLayer), $"Show at least one unit per layer; got {UnitsPerLayer}.");
        if (RegionsPerUnit < 1)
            throw new ArgumentOutOfRangeException(nameof(RegionsPerUnit), $"Show at least one region per unit; got {RegionsPerUnit}.");
        if (MapPhotos is { } maps && (maps < 1 || maps > photos))
            throw new ArgumentOutOfRangeException(nameof(MapPhotos), $"Activation maps need between 1 and the {photos} photos given (null: all); got {maps}.");
        var visualisation = Visualisation ?? PhotoVisualisation;
        visualisation.Validate();
        if (visualisation.Steps < 1)
            throw new ArgumentOutOfRangeException(nameof(Visualisation), "The visualisation needs at least one step: without one, nothing tells whether its objective rose.");
    }
}

/// <summary>
/// One region where a unit responds strongly: the photo, the activation, the region's longer side in the pixels of the
/// photo as the network sees it (scaled so that its shorter side is the network's input size, 224 for ResNet-18: one
/// scale for every photo, whatever its resolution), and its crop and pattern files, both cut from that view.
/// </summary>
public sealed record ExplorerRegion(string Photo, float Activation, int Side, string Crop, string Pattern);

/// <summary>
/// One unit of the explorer with the files of its images, relative to the page; how its visualisation's objective
/// developed (<see cref="VisualisationRise"/>: an image whose objective did not rise is its start, not an answer); and
/// which of <see cref="Maps"/> is on the photo of its strongest region (null if that photo has no map).
/// </summary>
public sealed record ExplorerUnit(string Id, string Layer, int Channel, string Visualisation, ObjectiveRise VisualisationRise,
    IReadOnlyList<ExplorerRegion> Regions, IReadOnlyList<string> Maps, int? FavouriteMap);

/// <summary>The page written and what it shows.</summary>
public sealed record UnitExplorerPage(string PagePath, IReadOnlyList<string> Layers, IReadOnlyList<string> MapPhotos, IReadOnlyList<ExplorerUnit> Units)
{
    /// <summary>
    /// What to say under the page about the visualisations: a warning for each unit whose objective did not rise
    /// (its image shows where the optimisation started, not what the unit looks for), else one line that all rose.
    /// </summary>
    public IReadOnlyList<Note> VisualisationNotes()
    {
        var flat = Units.Where(u => !u.VisualisationRise.Rose).ToList();
        if (flat.Count == 0)
        {
            var least = Units.MinBy(u => u.VisualisationRise.End - u.VisualisationRise.Start)!;
            return [new Note($"Every unit's visualisation raised its objective (the mean of the unit's channel); the smallest rise: " +
                $"{least.Layer} unit {least.Channel}, from {least.VisualisationRise.Start:G3} to {least.VisualisationRise.End:G3}.")];
        }
        return flat.Select(u => new Note($"{u.Layer} unit {u.Channel}: the objective of its visualisation did not rise " +
            $"({u.VisualisationRise.Start:G3} at the first step, {u.VisualisationRise.End:G3} over the last steps), so its image " +
            "shows where the optimisation started, not what the unit looks for.", NoteKind.Warning)).ToList();
    }
}

/// <summary>
/// The lecture's "deep visualization toolbox" (Yosinski et al., 2015) as static files a browser opens offline: pick a
/// layer and a unit, see what the unit looks for (feature visualisation), where it responds most among the photos
/// (top regions with their guided-backpropagation patterns, notebooks 05 and 06), and its activation map on a chosen
/// photo (notebook 03). Everything is computed once, here; the page only switches images. Notebook 19.
/// </summary>
public static class UnitExplorer
{
    public const string PageFile = "index.html";

    /// <summary>
    /// Computes every unit's images for <paramref name="layers"/> of <paramref name="model"/> over the photos
    /// (<paramref name="views"/> must be candidate views of <paramref name="photos"/>) and writes the page and its PNG
    /// files into <paramref name="folder"/>, replacing an earlier explorer there.
    /// </summary>
    public static UnitExplorerPage Write(VisionModel model, IReadOnlyList<Tensor> photos, IReadOnlyList<string> photoNames, CandidateViews views,
        IReadOnlyList<string> layers, string folder, UnitExplorerOptions? options = null)
    {
        options ??= new UnitExplorerOptions();
        if (photoNames.Count != photos.Count)
            throw new ArgumentException($"Give one name per photo: {photos.Count} photos, {photoNames.Count} names.", nameof(photoNames));
        if (layers.Count == 0)
            throw new ArgumentException("Name at least one layer to explore.", nameof(layers));
        options.Validate(photos.Count);
        foreach (var layer in layers)
            model.Layer(layer);   // an unknown name fails here, with the valid ones, before any work

        if (Directory.Exists(folder))
            Directory.Delete(folder, recursive: true);
        Directory.CreateDirectory(folder);
        string Save(Tensor image, string name)
        {
            ImageFiles.SavePng(image, Path.Combine(folder, name));
            return name;
        }

        using var scope = NewDisposeScope();
        var guided = new UnitGradient(model, ReluBackward.Guided);
        var scans = TopPatches.Scan(model, views, layers);   // one pass over the views for all layers
        int mapCount = options.MapPhotos ?? photos.Count;
        var mapPhotos = cat(photos.Take(mapCount).Select(p => Images.Prepare(p, model)).ToArray(), 0);   // P x C x H x W
        var units = new List<ExplorerUnit>();
        foreach (var layer in layers)
        {
            var scan = scans[layer];
            var channels = scan.MostSelective(options.UnitsPerLayer).Select(u => u.Channel).ToList();
            using var visualisations = FeatureVisualization.Channels(model, layer, channels, options.Visualisation ?? UnitExplorerOptions.PhotoVisualisation);
            var rises = ObjectiveRise.PerImage(visualisations);
            var maps = MapsOf(model, mapPhotos, layer);   // P x C x h x w
            foreach (var (channel, i) in channels.Select((c, i) => (c, i)))
            {
                var id = $"{layer}-{channel}";
                var top = scan.Top(channel, count: options.RegionsPerUnit, perImage: 2);
                var patterns = guided.Patterns(views, layer, channel, top);
                var regions = top.Select((p, r) => new ExplorerRegion(photoNames[p.Image], p.Activation, SideAtInputScale(model, views, p),
                    Save(CropOfView(views, p), $"{id}-crop{r}.png"), Save(Plot.Gradient(patterns[r], 0.99), $"{id}-pattern{r}.png"))).ToList();
                // One scale for the unit's maps on all photos, so a photo it ignores stays dark.
                var scale = Math.Max(maps[.., channel].max().item<float>(), 1e-12f);
                var mapFiles = Enumerable.Range(0, mapCount).Select(p => Save(Plot.HeatMapOverlay(mapPhotos[p], maps[p, channel] / scale, Colormap.Jet, 0.6f, normalize: false), $"{id}-map{p}.png")).ToList();
                int? favourite = top.Count > 0 && top[0].Image < mapCount ? top[0].Image : null;
                units.Add(new ExplorerUnit(id, layer, channel, Save(visualisations.Images[i], $"{id}-visualisation.png"), rises[i], regions, mapFiles, favourite));
            }
        }
        var page = new UnitExplorerPage(Path.Combine(folder, PageFile), layers.ToList(), photoNames.Take(mapCount).ToList(), units);
        File.WriteAllText(page.PagePath, Html(page, model.Name));
        return page;
    }

    /// <summary>The layer's feature maps for a batch of prepared photos (P x C x h x w, on the CPU): one forward pass for all photos.</summary>
    static Tensor MapsOf(VisionModel model, Tensor photos, string layer)
    {
        using var output = model.Activations(photos, layer)[layer];   // captured outputs belong to no scope
        return output.cpu().clone();
    }

    /// <summary>
    /// The region cut from the view the unit saw it in, the photo as the network sees it: its guided pattern is cut from
    /// the same pixels, and a region's size no longer depends on the resolution of the photo it comes from.
    /// </summary>
    static Tensor CropOfView(CandidateViews views, Patch patch)
    {
        var r = patch.InView;
        return views.Pixels[patch.View, .., r.Top..(r.Top + r.Height), r.Left..(r.Left + r.Width)];
    }

    /// <summary>The region's longer side in the pixels of its photo scaled to the model's input size (shorter side 224 for ResNet-18), whatever the scale of its view.</summary>
    static int SideAtInputScale(VisionModel model, CandidateViews views, Patch patch) =>
        (int)Math.Round(Math.Max(patch.InView.Width, patch.InView.Height) * (double)model.Input.Height / views.Views[patch.View].ShorterSide);

    /// <summary>
    /// The page: the units as JSON and a script that shows the chosen one. Opened with <c>#check</c> after its address,
    /// the script shows every unit in turn and writes on the body how many showed exactly their own images and how many
    /// images loaded or failed, for the tests.
    /// </summary>
    static string Html(UnitExplorerPage page, string modelName)
    {
        var data = JsonSerializer.Serialize(new { layers = page.Layers, photos = page.MapPhotos, units = page.Units },
            new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.CamelCase });
        var html = new StringBuilder();
        html.Append($$"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>Unit explorer · {{WebUtility.HtmlEncode(modelName)}}</title>
            <style>
              body { font-family: sans-serif; margin: 1em 2em; color: #222; }
              nav button { margin: 2px; padding: 4px 8px; border: 1px solid #999; background: #f4f4f4; cursor: pointer; }
              nav button.chosen { background: #2a5db0; color: white; border-color: #2a5db0; }
              .row { display: flex; flex-wrap: wrap; gap: 8px; align-items: flex-start; }
              figure { margin: 0; text-align: center; font-size: 0.85em; color: #555; }
              img { image-rendering: pixelated; border: 1px solid #ccc; object-fit: contain; background: #fff; }
              .warning { color: #a33; font-weight: bold; max-width: 224px; }
              h2 { margin: 0.8em 0 0.3em; font-size: 1.1em; }
            </style></head><body>
            <h1>Unit explorer: {{WebUtility.HtmlEncode(modelName)}}</h1>
            <p>Choose a layer and a unit. <b>What it looks for</b>: an image optimised to excite the unit, with how far the unit's
            mean response rose (a warning where it did not: then the image is only the start). <b>Where it fires</b>: the
            regions of the kit's photos where it responds most, cut from the photo as the network sees it and all drawn at one
            size, each above its guided-backpropagation pattern (grey = 0). <b>Activation map</b>: the unit's response over a
            whole photo, on one scale for all photos (dark blue: silent); it opens on the photo of the unit's strongest region.
            Written by notebooks/19-unit-explorer.ipynb; no server and no network needed.</p>
            <nav id="layers"></nav><nav id="units"></nav>
            <div id="unit">
              <h2 id="title"></h2>
              <div class="row">
                <figure><img id="visualisation" width="224" height="224" alt="feature visualisation"><figcaption id="rise">what it looks for</figcaption></figure>
                <figure><img id="map" width="224" height="224" alt="activation map"><figcaption>activation map on <select id="photo"></select></figcaption></figure>
              </div>
              <h2>Where it fires: top regions (activation), guided patterns below</h2>
              <div class="row" id="regions"></div>
            </div>
            <script>
            const explorer = {{data}};
            let chosen = explorer.units[0], previous = null, photo = 0;
            const el = id => document.getElementById(id);
            function button(text, isChosen, onClick) {
              const b = document.createElement('button');
              b.textContent = text; b.className = isChosen ? 'chosen' : ''; b.onclick = onClick; return b;
            }
            function show(unit) {
              chosen = unit;
              el('layers').replaceChildren(...explorer.layers.map(l => button(l, l === unit.layer, () => show(explorer.units.find(u => u.layer === l)))));
              el('units').replaceChildren(...explorer.units.filter(u => u.layer === unit.layer)
                .map(u => button('unit ' + u.channel, u === unit, () => show(u))));
              el('title').textContent = unit.layer + ', unit ' + unit.channel;
              el('visualisation').src = unit.visualisation;
              const rise = unit.visualisationRise, objective = v => v.toPrecision(3);
              el('rise').textContent = rise.rose
                ? 'what it looks for (its mean rose from ' + objective(rise.start) + ' to ' + objective(rise.end) + ')'
                : 'its mean did not rise (' + objective(rise.start) + ' to ' + objective(rise.end) + '): this is the start, not what it looks for';
              el('rise').className = rise.rose ? '' : 'warning';
              if (unit !== previous && unit.favouriteMap !== null) photo = unit.favouriteMap;   // a new unit opens on its favourite photo
              previous = unit;
              el('photo').value = photo;
              el('map').src = unit.maps[photo];
              el('regions').replaceChildren(...unit.regions.map(r => {
                const f = document.createElement('figure');
                const crop = new Image(); crop.src = r.crop; crop.width = crop.height = 112; crop.alt = 'region';
                const pattern = new Image(); pattern.src = r.pattern; pattern.width = pattern.height = 112; pattern.alt = 'pattern';
                const caption = document.createElement('figcaption');
                caption.textContent = r.photo + ' ' + r.activation.toFixed(1);
                f.append(crop, document.createElement('br'), pattern, caption); return f;
              }));
            }
            el('photo').replaceChildren(...explorer.photos.map((name, i) => new Option(name, i)));
            el('photo').onchange = e => { photo = +e.target.value; show(chosen); };
            show(chosen);

            // For the tests: every unit in turn, counting units whose images are exactly their own; copies of all their
            // images wait in a hidden box, so the page's load event tells which of them loaded.
            if (location.hash === '#check') {
              let shown = 0;
              const all = document.createElement('div');
              all.hidden = true;
              document.body.append(all);
              for (const unit of explorer.units) {
                show(unit);
                const images = [...el('unit').querySelectorAll('img')];
                const own = new Set([unit.visualisation, unit.maps[photo], ...unit.regions.flatMap(r => [r.crop, r.pattern])]);
                if (images.length === own.size && images.every(img => own.has(img.getAttribute('src')))) shown++;
                images.forEach(img => all.append(img.cloneNode()));
              }
              show(explorer.units[0]);
              window.addEventListener('load', () => {
                const images = [...all.querySelectorAll('img')];
                const failed = images.filter(img => !(img.complete && img.naturalWidth > 0)).length;
                Object.assign(document.body.dataset, { units: explorer.units.length, shown, loaded: images.length - failed, failed });
              });
            }
            </script>
            </body></html>

            """);
        return html.ToString();
    }
}
