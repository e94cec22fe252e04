using System.Diagnostics;
using System.Runtime.InteropServices;
using WhatNetworksLearn;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Models.Training;

// Trains the kit's Fashion-MNIST classifier and writes data/models/fashion-cnn.bin with its manifest.
// Usage: dotnet run -c Release --project data/models/train [-- --epochs 12 --seed 1 --out <folder>]
const string Command = "dotnet run -c Release --project data/models/train";
var options = new TrainingOptions();
string folder = ShippedWeights.Folder;
for (int i = 0; i + 1 < args.Length; i += 2)
{
    options = args[i] switch
    {
        "--epochs" => options with { Epochs = int.Parse(args[i + 1]) },
        "--seed" => options with { Seed = int.Parse(args[i + 1]) },
        "--train-limit" => options with { TrainLimit = int.Parse(args[i + 1]) },
        "--out" => options,
        _ => throw new ArgumentException($"Unknown option {args[i]}. Options: --epochs N, --seed N, --train-limit N, --out FOLDER."),
    };
    if (args[i] == "--out")
        folder = args[i + 1];
}

var clock = Stopwatch.StartNew();
var (network, history) = FashionCnnTraining.Train(options);
foreach (var epoch in history)
    Console.WriteLine($"epoch {epoch.Epoch,2}: loss {epoch.TrainLoss:F4}, train {epoch.TrainAccuracy:P2}, test {epoch.TestAccuracy:P2}, {epoch.Seconds:F0} s");

Directory.CreateDirectory(folder);
var weights = Path.Combine(folder, FashionCnn.Name + ".bin");
network.save(weights);
var manifest = new ModelManifest(
    FashionCnn.Name, Path.GetFileName(weights), WhatNetworksLearn.Data.Downloads.Sha256(weights), new FileInfo(weights).Length,
    history[^1].TestAccuracy, 10_000, options.Epochs, options.Seed, options.BatchSize, options.LearningRate,
    Command + OptionsText(options), Math.Round(clock.Elapsed.TotalSeconds),
    $"{RuntimeInformation.OSDescription}, {Environment.ProcessorCount} cores, {Kit.DefaultDevice}",
    typeof(TorchSharp.torch).Assembly.GetName().Version!.ToString(3), history);
manifest.Write(Path.Combine(folder, FashionCnn.Name + ".json"));
Console.WriteLine($"Wrote {weights} ({manifest.Bytes / 1024} KB), test accuracy {manifest.TestAccuracy:P2}, {manifest.TrainingSeconds} s.");

// The options that differ from the defaults, as they would be typed (--out is left out: it does not change the model).
static string OptionsText(TrainingOptions options)
{
    var defaults = new TrainingOptions();
    var parts = new List<string>();
    if (options.Epochs != defaults.Epochs) parts.Add($"--epochs {options.Epochs}");
    if (options.Seed != defaults.Seed) parts.Add($"--seed {options.Seed}");
    if (options.TrainLimit is { } limit) parts.Add($"--train-limit {limit}");
    return parts.Count == 0 ? "" : " -- " + string.Join(' ', parts);
}
