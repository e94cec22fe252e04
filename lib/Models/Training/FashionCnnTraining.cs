using System.Diagnostics;
using TorchSharp;
using WhatNetworksLearn.Data;
using WhatNetworksLearn.Notebook;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Models.Training;

/// <summary>Settings of one training run of <see cref="FashionCnn"/>; the defaults made the shipped weights.</summary>
public sealed record TrainingOptions(int Epochs = 10, int BatchSize = 128, double LearningRate = 2e-3, int Seed = 1, int? TrainLimit = null);

/// <summary>
/// Trains the kit's Fashion-MNIST classifier from scratch: Adam with a cosine learning-rate schedule, light
/// augmentation (random horizontal flips and shifts of up to 2 pixels), test accuracy after every epoch.
/// </summary>
public static class FashionCnnTraining
{
    public static (nn.Module<Tensor, Tensor> Network, List<EpochRecord> History) Train(TrainingOptions options, Device? device = null)
    {
        device ??= Kit.DefaultDevice;
        manual_seed(options.Seed);
        var generator = new Generator((ulong)options.Seed);
        using var train = FashionMnist.Load(FashionMnist.Split.Train, options.TrainLimit);
        using var test = FashionMnist.Load(FashionMnist.Split.Test);
        var network = FashionCnn.Create();
        var model = new PixelSpaceModule(network, FashionCnn.Input.Mean, FashionCnn.Input.Std);
        model.to(device);
        var optimizer = optim.Adam(model.parameters(), options.LearningRate);
        var schedule = optim.lr_scheduler.CosineAnnealingLR(optimizer, options.Epochs);
        long count = train.Images.shape[0];
        int batches = (int)((count + options.BatchSize - 1) / options.BatchSize);
        var history = new List<EpochRecord>();
        using var progress = ProgressDisplay.Start("Training fashion-cnn", options.Epochs * batches);

        for (int epoch = 1; epoch <= options.Epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            model.train();
            double lossSum = 0;
            long correct = 0;
            using var order = randperm(count, generator: generator);
            for (int b = 0; b < batches; b++)
            {
                using var scope = NewDisposeScope();
                var index = order.narrow(0, b * options.BatchSize, Math.Min(options.BatchSize, count - b * options.BatchSize));
                var images = Augment(train.Images.index_select(0, index), generator).to(device);
                var labels = train.Labels.index_select(0, index).to(device);
                optimizer.zero_grad();
                var scores = model.forward(images);
                var loss = nn.functional.cross_entropy(scores, labels);
                loss.backward();
                optimizer.step();
                lossSum += loss.item<float>() * index.shape[0];
                correct += scores.argmax(1).eq(labels).sum().item<long>();
                progress.Report((epoch - 1) * batches + b + 1, $"epoch {epoch}");
            }
            schedule.step();
            double testAccuracy = Accuracy(model, test, device);
            history.Add(new EpochRecord(epoch, lossSum / count, (double)correct / count, testAccuracy, clock.Elapsed.TotalSeconds));
        }
        model.eval();
        return (network, history);
    }

    /// <summary>The fraction of <paramref name="data"/> the model classifies correctly (evaluation mode, batches of 1,000).</summary>
    public static double Accuracy(nn.Module<Tensor, Tensor> model, FashionMnist.LabeledImages data, Device device)
    {
        model.eval();
        using var noGrad = no_grad();
        long correct = 0, count = data.Images.shape[0];
        for (long start = 0; start < count; start += 1000)
        {
            using var scope = NewDisposeScope();
            long size = Math.Min(1000, count - start);
            var scores = model.forward(data.Images.narrow(0, start, size).to(device));
            correct += scores.argmax(1).eq(data.Labels.narrow(0, start, size).to(device)).sum().item<long>();
        }
        return (double)correct / count;
    }

    /// <summary>Flips half of the images left to right and shifts the batch by up to 2 pixels each way.</summary>
    static Tensor Augment(Tensor images, Generator generator)
    {
        var flip = rand(images.shape[0], generator: generator).lt(0.5).reshape(-1, 1, 1, 1);
        var flipped = where(flip, images.flip(3), images);
        var shifts = randint(-2, 3, [2], generator: generator).data<long>().ToArray();
        var padded = nn.functional.pad(flipped, [2, 2, 2, 2]);
        return padded.narrow(2, 2 + shifts[0], images.shape[2]).narrow(3, 2 + shifts[1], images.shape[3]);
    }
}
