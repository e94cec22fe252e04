using WhatNetworksLearn.Platform;

namespace WhatNetworksLearn.Tests;

public class NativeFixTests
{
    static string PackagedLibrary() =>
        TorchSharpNativeFix.CandidatePaths().First(p => p.Contains("runtimes") && File.Exists(p));

    [Fact]
    public void The_library_needs_the_missing_version_exactly_once()
    {
        var offsets = TorchSharpNativeFix.FindVersionNeedFlagOffsets(File.ReadAllBytes(PackagedLibrary()), TorchSharpNativeFix.MissingVersion);
        Assert.Single(offsets);
    }

    [Fact]
    public void Patching_sets_only_the_weak_flag_and_is_idempotent()
    {
        var copy = Path.GetTempFileName();
        try
        {
            var original = File.ReadAllBytes(PackagedLibrary());
            int offset = TorchSharpNativeFix.FindVersionNeedFlagOffsets(original, TorchSharpNativeFix.MissingVersion)[0];
            original[offset] &= unchecked((byte)~0x2); // start from the unpatched state, whatever the cache holds
            File.WriteAllBytes(copy, original);

            Assert.Equal(TorchSharpNativeFix.Outcome.Patched, TorchSharpNativeFix.PatchFile(copy));
            var patched = File.ReadAllBytes(copy);
            var changed = Enumerable.Range(0, original.Length).Where(i => original[i] != patched[i]).ToList();
            Assert.Equal([offset], changed);
            Assert.Equal(original[offset] | 0x2, patched[offset]);

            Assert.Equal(TorchSharpNativeFix.Outcome.AlreadyPatched, TorchSharpNativeFix.PatchFile(copy));
            Assert.Equal(patched, File.ReadAllBytes(copy));
        }
        finally
        {
            File.Delete(copy);
        }
    }

    [Fact]
    public void A_library_without_the_need_is_left_alone()
    {
        var c10 = Path.Combine(Path.GetDirectoryName(PackagedLibrary())!, "..", "..", "..", "..", "..", "libtorch-cpu-linux-x64");
        var anyOther = Directory.Exists(c10)
            ? Directory.GetFiles(c10, "libc10.so", SearchOption.AllDirectories).FirstOrDefault()
            : null;
        anyOther ??= "/bin/ls";
        var before = File.ReadAllBytes(anyOther);
        Assert.Empty(TorchSharpNativeFix.FindVersionNeedFlagOffsets(before, TorchSharpNativeFix.MissingVersion));
    }

    [Fact]
    public void A_file_that_is_not_elf_is_refused_with_a_clear_error()
    {
        var error = Assert.Throws<InvalidDataException>(() => TorchSharpNativeFix.FindVersionNeedFlagOffsets("not a library, just text......................................................."u8, "X"));
        Assert.Contains("Not an ELF file", error.Message);
    }

    [Fact]
    public void TorchSharp_loads_and_computes_after_the_fix()
    {
        using var x = TorchSharp.torch.ones(2, 3);
        Assert.Equal(6f, x.sum().item<float>());
    }
}
