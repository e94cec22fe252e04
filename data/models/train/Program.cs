using System.Diagnostics;
using System.Runtime.InteropServices;
using WhatNetworksLearn;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Models.Training;

// Trains the kit's Fashion-MNIST classifiers and writes data/models/<name>.bin with its manifest <name>.json.
// Usage: dotnet run -c Release --project data/models/train [-- --epochs 12 --seed 1 --out <folder>]
//        dotnet run -c Release --project data/models/train -- --robust      (fashion-cnn-robust: adversarial
//        fine-tuning of the shipped fashion-cnn at ε = 0.1; evaluate it afterwards with data/models/evaluate)
const string Command = "dotnet run -c Release --project data/models/train";
var options = new TrainingOptions();
var defaults = options;
string folder = ShippedWeights.Folder;
string name = FashionCnn.Name;
for (int i = 0; i < args.Length; i++)
{
    if (args[i] == "--robust")
    {
        name = FashionCnn.RobustName;
        options = defaults = TrainingOptions.RobustFineTuning();
        continue;
    }
    if (i + 1 >= args.Length)
        throw new ArgumentException($"Option {args[i]} needs a value.");
    options = args[i] switch
    {
        "--epochs" => options with { Epochs = int.Parse(args[i + 1]) },
        "--seed" => options with { Seed = int.Parse(args[i + 1]) },
        "--train-limit" => options with { TrainLimit = int.Parse(args[i + 1]) },
        "--check-images" => options with { CheckImages = int.Parse(args[i + 1]) },
        "--attack-iterations" => options with { AttackIterations = int.Parse(args[i + 1]) },
        "--out" => options,
        _ => throw new ArgumentException($"Unknown option {args[i]}. Options: --robust, --epochs N, --seed N, --train-limit N, --check-images N, --attack-iterations N, --out FOLDER."),
    };
    if (args[i] == "--out")
        folder = args[i + 1];
    i++;
}

var clock = Stopwatch.StartNew();
var (network, history) = FashionCnnTraining.Train(options);
foreach (var epoch in history)
    Console.WriteLine($"epoch {epoch.Epoch,2}: loss {epoch.TrainLoss:F4}, train {epoch.TrainAccuracy:P2}, test {epoch.TestAccuracy:P2}" +
        (epoch.RobustAccuracy is { } r ? $", PGD-10 {r:P2}" : "") + $", {epoch.Seconds:F0} s");

Directory.CreateDirectory(folder);
var weights = Path.Combine(folder, name + ".bin");
network.save(weights);
var kept = options.Epsilon is null ? history[^1] : history.MaxBy(e => e.RobustAccuracy)!;
var manifest = new ModelManifest(
    name, Path.GetFileName(weights), WhatNetworksLearn.Data.Downloads.Sha256(weights), new FileInfo(weights).Length,
    kept.TestAccuracy, 10_000, options.Epochs, options.Seed, options.BatchSize, options.LearningRate,
    Command + OptionsText(options, defaults, name), Math.Round(clock.Elapsed.TotalSeconds),
    $"{RuntimeInformation.OSDescription}, {Environment.ProcessorCount} cores, {Kit.DefaultDevice}",
    typeof(TorchSharp.torch).Assembly.GetName().Version!.ToString(3), history,
    options.Epsilon is { } epsilon
        ? new RobustnessRecord(epsilon, options.AttackName + "; kept the epoch of best PGD-10 accuracy on "
            + $"the first {options.CheckImages} test images", options.StartFrom is null ? null : FashionCnn.Name, kept.Epoch)
        : null);
manifest.Write(Path.Combine(folder, name + ".json"));
Console.WriteLine($"Wrote {weights} ({manifest.Bytes / 1024} KB), test accuracy {manifest.TestAccuracy:P2} (epoch {kept.Epoch}), {manifest.TrainingSeconds} s.");

// The options that differ from the defaults, as they would be typed (--out is left out: it does not change the model).
static string OptionsText(TrainingOptions options, TrainingOptions defaults, string name)
{
    var parts = new List<string>();
    if (name == FashionCnn.RobustName) parts.Add("--robust");
    if (options.Epochs != defaults.Epochs) parts.Add($"--epochs {options.Epochs}");
    if (options.Seed != defaults.Seed) parts.Add($"--seed {options.Seed}");
    if (options.TrainLimit is { } limit) parts.Add($"--train-limit {limit}");
    if (options.CheckImages != defaults.CheckImages) parts.Add($"--check-images {options.CheckImages}");
    if (options.AttackIterations != defaults.AttackIterations) parts.Add($"--attack-iterations {options.AttackIterations}");
    return parts.Count == 0 ? "" : " -- " + string.Join(' ', parts);
}
