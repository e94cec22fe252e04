using System.Runtime.CompilerServices;
using WhatNetworksLearn.Platform;

// Notebook runs and TorchSharp both want every core; tests run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace WhatNetworksLearn.Tests;

static class TestSetup
{
    /// <summary>Patches TorchSharp's native library before any test can load it (see environment/README.md).</summary>
#pragma warning disable CA2255 // Deliberate: must run before the first test touches TorchSharp.
    [ModuleInitializer]
    internal static void Initialize() => TorchSharpNativeFix.Apply();
#pragma warning restore CA2255
}
