using TorchSharp;
using TorchSharp.PyBridge;
using WhatNetworksLearn.Data;
using WhatNetworksLearn.Models;
using WhatNetworksLearn.Models.Training;
using static TorchSharp.torch;

namespace WhatNetworksLearn.Tests;

public class ModelTests
{
    [Fact]
    public void The_shipped_classifier_is_as_accurate_as_its_manifest_says()
    {
        var manifest = ShippedWeights.Manifest(FashionCnn.Name);
        Assert.True(manifest.TestAccuracy >= 0.91, $"The manifest records {manifest.TestAccuracy:P2}; the kit promises at least 91%.");
        using var model = FashionCnn.Load(CPU);
        using var sample = FashionMnist.LoadSample();
        double accuracy = FashionCnnTraining.Accuracy(model.Module, sample, CPU);
        // The sample is the first 2,000 of the 10,000 test images: its accuracy is close to the whole set's.
        Assert.InRange(accuracy, manifest.TestAccuracy - 0.02, manifest.TestAccuracy + 0.02);
    }

    [Fact]
    public void A_batch_gives_the_same_scores_as_its_images_one_at_a_time()
    {
        using var model = FashionCnn.Load(CPU);
        using var sample = FashionMnist.LoadSample(limit: 5);
        using var batch = model.Forward(sample.Images);
        for (int i = 0; i < 5; i++)
        {
            using var single = model.Forward(sample.Images.narrow(0, i, 1));
            Assert.True(single.allclose(batch.narrow(0, i, 1), rtol: 1e-4, atol: 1e-5));
        }
    }

    [Fact]
    public void Activations_are_the_outputs_of_the_named_layers()
    {
        using var model = FashionCnn.Load(CPU);
        using var sample = FashionMnist.LoadSample(limit: 3);
        var captured = model.Activations(sample.Images, "fc2", "relu1", "flatten");
        using var scores = model.Forward(sample.Images);
        Assert.True(captured["fc2"].allclose(scores, atol: 1e-5));
        Assert.Equal(new long[] { 3, 32, 28, 28 }, captured["relu1"].shape);
        Assert.Equal(new long[] { 3, 128 * 3 * 3 }, captured["flatten"].shape);
        Assert.True(captured["relu1"].min().item<float>() >= 0);
        foreach (var t in captured.Values) t.Dispose();
    }

    [Fact]
    public void An_unknown_layer_name_is_answered_with_the_valid_names()
    {
        using var model = FashionCnn.Load(CPU);
        var error = Assert.Throws<ArgumentException>(() => model.Layer("conv9"));
        Assert.Contains("conv9", error.Message);
        Assert.Contains("conv1, bn1, relu1", error.Message);
    }

    [Fact]
    public void Every_relu_is_a_module()
    {
        using var model = FashionCnn.Load(CPU);
        Assert.Equal(["relu1", "relu2", "relu3", "relu4"], model.LayerNames.Where(n => model.Layer(n) is TorchSharp.Modules.ReLU));
    }

    [Theory]
    [InlineData(new long[] { 1, 28, 28 }, "Add a batch dimension")]
    [InlineData(new long[] { 1, 3, 28, 28 }, "Convert colour images to greyscale")]
    [InlineData(new long[] { 1, 1, 32, 32 }, "Resize")]
    public void Wrong_input_shapes_are_explained(long[] shape, string advice)
    {
        using var model = FashionCnn.Load(CPU);
        using var input = zeros(shape);
        var error = Assert.Throws<ArgumentException>(() => model.Forward(input));
        Assert.Contains("N x 1 x 28 x 28", error.Message);
        Assert.Contains(advice, error.Message);
    }

    [Fact]
    public void Not_a_number_in_the_input_is_refused()
    {
        using var model = FashionCnn.Load(CPU);
        using var input = zeros(1, 1, 28, 28);
        input[0, 0, 3, 3] = tensor(float.NaN);
        Assert.Contains("NaN", Assert.Throws<ArgumentException>(() => model.Forward(input)).Message);
    }

    [Fact]
    public void A_class_index_out_of_range_is_refused()
    {
        using var model = FashionCnn.Load(CPU);
        Assert.Contains("0 to 9", Assert.Throws<ArgumentOutOfRangeException>(() => model.CheckClass(10)).Message);
        Assert.Equal(9, model.ClassIndex("ankle boot"));
    }

    [Fact]
    public void A_changed_weights_file_fails_its_checksum()
    {
        var manifest = ShippedWeights.Manifest(FashionCnn.Name);
        var copy = Path.GetTempFileName();
        try
        {
            var bytes = File.ReadAllBytes(Path.Combine(ShippedWeights.Folder, manifest.File));
            bytes[^10] ^= 0xff;
            File.WriteAllBytes(copy, bytes);
            var error = Assert.Throws<InvalidDataException>(() => ShippedWeights.Verify(copy, manifest.Sha256, "advice"));
            Assert.Contains("Checksum mismatch", error.Message);
            Assert.Contains(manifest.Sha256, error.Message);
        }
        finally
        {
            File.Delete(copy);
        }
    }

    [Fact]
    public void A_missing_weights_file_is_named()
    {
        var path = Path.Combine(Path.GetTempPath(), "no-such-weights.bin");
        var error = Assert.Throws<FileNotFoundException>(() => FashionCnn.Load(path));
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void A_truncated_weights_file_is_refused_clearly()
    {
        var manifest = ShippedWeights.Manifest(FashionCnn.Name);
        var copy = Path.GetTempFileName();
        try
        {
            var bytes = File.ReadAllBytes(Path.Combine(ShippedWeights.Folder, manifest.File));
            File.WriteAllBytes(copy, bytes[..(bytes.Length / 2)]);
            var error = Assert.Throws<InvalidDataException>(() => FashionCnn.Load(copy));
            Assert.Contains("not a complete weights file", error.Message);
        }
        finally
        {
            File.Delete(copy);
        }
    }

    [Fact]
    public void Weights_of_another_architecture_are_refused_clearly()
    {
        var path = Path.GetTempFileName();
        try
        {
            nn.Sequential(("fc", nn.Linear(4, 2))).save(path);
            var error = Assert.Throws<InvalidDataException>(() => FashionCnn.Load(path));
            Assert.Contains("another architecture", error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void TorchVision_weights_in_PyTorch_format_load_through_PyBridge()
    {
        manual_seed(5);
        using var original = TorchVisionModels.CreateUntrained("resnet18", CPU);
        var path = Path.Combine(Path.GetTempPath(), $"resnet18-{Guid.NewGuid():N}.pth");
        try
        {
            original.Network.save_py(path);
            using var loaded = TorchVisionModels.Load("resnet18", CPU, weightsPath: path);
            using var input = rand(2, 3, 224, 224);
            using var expected = original.Forward(input);
            using var actual = loaded.Forward(input);
            Assert.True(actual.allclose(expected, atol: 1e-5));
            Assert.Equal(1000, loaded.ClassNames.Count);
            Assert.Equal("ostrich", loaded.ClassNames[ImageNetClasses.Ostrich]);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Offline_without_cached_weights_the_error_names_the_url_and_the_path()
    {
        using var cache = new TemporaryCache();
        var error = Assert.Throws<FileNotFoundException>(() => TorchVisionModels.Load("vgg16", CPU, allowDownload: false));
        Assert.Contains("https://download.pytorch.org/models/vgg16-397923af.pth", error.Message);
        Assert.Contains(Path.Combine(cache.Folder, "torchvision", "vgg16-397923af.pth"), error.Message);
    }

    [Fact]
    public void A_cached_file_whose_hash_does_not_match_its_name_is_refused()
    {
        using var cache = new TemporaryCache();
        var path = TorchVisionModels.Find("alexnet").CachePath;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "not the weights");
        var error = Assert.Throws<InvalidDataException>(() => TorchVisionModels.Load("alexnet", CPU, allowDownload: false));
        Assert.Contains("Checksum mismatch", error.Message);
        Assert.Contains("7be5be79", error.Message);
    }

    [Fact]
    public void The_registry_lists_its_models_and_explains_unknown_names()
    {
        Assert.Equal(["fashion-cnn", "fashion-cnn-robust", "resnet18-trunk", "resnet18", "vgg16", "alexnet"], ModelRegistry.Names);
        var error = Assert.Throws<ArgumentException>(() => ModelRegistry.Load("resnet50"));
        Assert.Contains("fashion-cnn, fashion-cnn-robust, resnet18-trunk, resnet18, vgg16, alexnet", error.Message);
    }

    /// <summary>Points the kit's download cache at a fresh temporary folder for one test.</summary>
    sealed class TemporaryCache : IDisposable
    {
        readonly string? previous = Environment.GetEnvironmentVariable("KIT_CACHE");
        public string Folder { get; } = Directory.CreateTempSubdirectory("kit-cache-").FullName;
        public TemporaryCache() => Environment.SetEnvironmentVariable("KIT_CACHE", Folder);
        public void Dispose()
        {
            Environment.SetEnvironmentVariable("KIT_CACHE", previous);
            Directory.Delete(Folder, recursive: true);
        }
    }
}
