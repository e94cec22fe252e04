using System.Diagnostics;
using System.Runtime.InteropServices;
using WhatNetworksLearn;
using WhatNetworksLearn.Adversarial;
using WhatNetworksLearn.Data;
using WhatNetworksLearn.Models;

// Measures clean and robust accuracy of the kit's Fashion-MNIST networks on the 10,000 test images at ε = 0.1:
// per image the worst of PGD-50 (step 2.5 ε / 50) from three random starts and APGD-CE with 100 iterations
// (lib/Adversarial/RobustAccuracy.cs). Writes data/models/robustness.json and the robust accuracy into
// fashion-cnn-robust.json. Each run adds or replaces its model's row in the results file.
// Usage: dotnet run -c Release --project data/models/evaluate -- --model NAME [--limit N] [--out FILE]
// (fashion-cnn-robust on all 10,000 images took 33 minutes on a 2-core machine, shared part of the time; fashion-cnn falls to the first
// PGD run, so its first 1,000 images say as much in a few minutes: --limit 1000.)
// With --one-pixel N, it runs the one-pixel attack at Su et al.'s scale on the model's first N correctly classified
// test images instead: a scan of every pixel at three values, then differential evolution against random search
// (OnePixelRun.cs), into data/models/one-pixel.json.
const string Command = "dotnet run -c Release --project data/models/evaluate";
int? limit = null, onePixel = null;
string? name = null, output = null;
for (int i = 0; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--model": name = args[i + 1]; break;
        case "--limit": limit = int.Parse(args[i + 1]); break;
        case "--one-pixel": onePixel = int.Parse(args[i + 1]); break;
        case "--out": output = args[i + 1]; break;
        default: throw new ArgumentException($"Unknown option {args[i]}. Options: --model NAME, --limit N, --one-pixel N, --out FILE.");
    }
}
if (name is not (FashionCnn.Name or FashionCnn.RobustName))
    throw new ArgumentException($"Name the model to evaluate: --model {FashionCnn.Name} or --model {FashionCnn.RobustName}.");
string machine = $"{RuntimeInformation.OSDescription}, {Environment.ProcessorCount} cores, {Kit.DefaultDevice}";
if (onePixel is int count)
{
    OnePixelRun.Measure(name, count, $"{Command} -- --model {name} --one-pixel", machine, output ?? ShippedOnePixel.FilePath);
    return;
}
output ??= Path.Combine(ShippedWeights.Folder, "robustness.json");

var options = new RobustnessOptions();
using var test = FashionMnist.Load(FashionMnist.Split.Test, limit);
var rows = ShippedRobustness.ReadAll(output);
var clock = Stopwatch.StartNew();
using var model = ModelRegistry.Load(name);
// In chunks of 1,000 images, the results file rewritten after each: a run stopped early leaves the result on the
// images done so far, which `--limit` with that number reproduces.
const int Chunk = 1000;
int total = (int)test.Images.shape[0];
var sum = new RobustnessResult(options.Epsilon, 0, 0, 0, 0, 0);
for (int start = 0; start < total; start += Chunk)
{
    int size = Math.Min(Chunk, total - start);
    var part = RobustAccuracy.Evaluate(model, test.Images.narrow(0, start, size), test.Labels.narrow(0, start, size), options);
    sum = new RobustnessResult(options.Epsilon, sum.Images + part.Images, sum.Clean + part.Clean, sum.AfterFirstPgd + part.AfterFirstPgd,
        sum.AfterPgd + part.AfterPgd, sum.Robust + part.Robust);
    Console.WriteLine($"{name}, first {sum.Images} images: clean {sum.CleanAccuracy:P2}, PGD-{options.PgdSteps} once {sum.FirstPgdAccuracy:P2}, " +
        $"with {options.PgdRestarts} starts {sum.PgdAccuracy:P2}, and APGD-CE {sum.RobustAccuracy:P2} " +
        $"({sum.BrokenOnlyByApgd} images broken by APGD alone), {clock.Elapsed.TotalSeconds:F0} s");
    bool all = sum.Images == total && limit is null;
    rows.RemoveAll(r => r.Model == name);
    rows.Add(new ShippedRobustness(name, Command + $" -- --model {name}" + (all ? "" : $" --limit {sum.Images}"), sum.Images, sum.Epsilon,
        sum.CleanAccuracy, sum.FirstPgdAccuracy, sum.PgdAccuracy, sum.RobustAccuracy, sum.BrokenOnlyByApgd, Math.Round(clock.Elapsed.TotalSeconds)));
    ShippedRobustness.WriteAll(rows,
        $"PGD-{options.PgdSteps} (step 2.5 ε / steps, random start) × {options.PgdRestarts} starts, then APGD-CE ({options.ApgdIterations} iterations) on what PGD left; an image is robust if no attack broke it",
        machine, output);
}
if (name == FashionCnn.RobustName && limit is null && ShippedWeights.Manifest(name) is { Robustness: { } robustness } manifest
    && Math.Abs(robustness.Epsilon - options.Epsilon) < 1e-12)
    (manifest with
    {
        Robustness = robustness with
        {
            RobustAccuracy = sum.RobustAccuracy,
            Evaluation = $"{Command}: worst per image of PGD-{options.PgdSteps} (step 2.5 ε / {options.PgdSteps}) from {options.PgdRestarts} random starts and APGD-CE ({options.ApgdIterations} iterations) on the 10,000 test images",
        },
    }).Write(Path.Combine(ShippedWeights.Folder, name + ".json"));
Console.WriteLine($"Wrote {output}.");
