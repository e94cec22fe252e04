using System.Diagnostics;
using System.Runtime.InteropServices;
using WhatNetworksLearn;
using WhatNetworksLearn.Adversarial;
using WhatNetworksLearn.Data;
using WhatNetworksLearn.Models;

// How the adversarial patch's success grows with its size (notebook 14): on fashion-cnn, towards Sandal, patches of
// 6, 8, 9, 11 and 14 pixels a side (5 %, 8 %, 10 %, 15 % and 25 % of the 28 x 28 image) are trained with notebook 14's settings from three seeds each,
// on the same 1,000 images the notebook trains on (the first 1,000 of the kit's test-set sample), and judged on the
// sample's other 1,000 images at random placements they never saw in training, beside a noise patch of each size.
// Writes data/models/patch-sizes.json. Usage: dotnet run -c Release --project data/models/patch-sizes [-- --out FILE]
const string Command = "dotnet run -c Release --project data/models/patch-sizes";
int[] sides = [6, 8, 9, 11, 14];
int[] seeds = [1, 2, 3];
const int HeldOutSeed = 7;
string? output = args is ["--out", var file] ? file : args.Length == 0 ? null
    : throw new ArgumentException("The only option is --out FILE (default: data/models/patch-sizes.json).");

var clock = Stopwatch.StartNew();
using var model = ModelRegistry.Load(FashionCnn.Name);
using var sample = FashionMnist.LoadSample(2000);
var training = sample.Images[..1000];
var heldOut = sample.Images[1000..];
var heldOutLabels = sample.Labels[1000..];
int sandal = model.ClassIndex("Sandal");
var options = new PatchOptions();   // notebook 14's settings, but for the size and the seed
var sizes = PatchSizes.Sweep(model, training, heldOut, heldOutLabels, sandal, sides, seeds, options, HeldOutSeed,
    line => Console.WriteLine($"{line}, {clock.Elapsed.TotalSeconds:F0} s"));
var results = new PatchSizes(Command, FashionCnn.Name, "Sandal", (int)training.shape[0], (int)heldOut.shape[0], HeldOutSeed,
    PatchSizeSettings.Of(options), sizes, $"{RuntimeInformation.OSDescription}, {Environment.ProcessorCount} cores, {Kit.DefaultDevice}",
    Math.Round(clock.Elapsed.TotalSeconds));
results.Write(output);
Console.WriteLine($"Wrote {output ?? PatchSizes.FilePath}.");
