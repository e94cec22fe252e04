using WhatNetworksLearn.Models;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Rendering;

/// <summary>Figures about a model itself: what it predicts, and how it learned.</summary>
public static class ModelFigures
{
    /// <summary>
    /// Each image with the model's top class and probability, and the true class when labels are given
    /// (a wrong prediction is marked with ✘).
    /// </summary>
    public static Figure Predictions(VisionModel model, Tensor images, Tensor? labels, string title, int columns = 8, int tileSize = 96)
    {
        var predictions = model.Predict(images);
        var truth = labels?.cpu().data<long>().ToArray();
        var tiles = predictions.Select((p, i) =>
        {
            var guess = $"{model.ClassNames[p.Class]} {p.Probability:P0}";
            var caption = truth is null ? guess
                : $"{(truth[i] == p.Class ? "" : "✘ ")}{guess}\ntrue: {model.ClassNames[(int)truth[i]]}";
            return new Tile(images[i], caption);
        });
        return Plot.Grid(tiles, title, columns, tileSize);
    }

    /// <summary>Training and test accuracy per epoch from a shipped model's manifest.</summary>
    public static Figure TrainingCurves(ModelManifest manifest)
    {
        var epochs = manifest.History.Select(h => (double)h.Epoch).ToList();
        return LineChart.Draw(
        [
            new Series("training accuracy", epochs, manifest.History.Select(h => h.TrainAccuracy).ToList()),
            new Series("test accuracy", epochs, manifest.History.Select(h => h.TestAccuracy).ToList()),
        ], $"Training {manifest.Name}: accuracy per epoch", "epoch", "accuracy");
    }
}
