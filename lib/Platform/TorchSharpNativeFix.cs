using System.Buffers.Binary;
using System.Text;

namespace WhatNetworksLearn.Platform;

/// <summary>
/// Makes TorchSharp 0.107.0's native library load on systems whose libstdc++ is older than GCC 13
/// (Debian 12, Ubuntu 22.04).
/// </summary>
/// <remarks>
/// <c>libLibTorchSharp.so</c> declares that it needs the symbol version <c>GLIBCXX_3.4.32</c>. The only
/// symbol of that version it mentions is <c>std::ios_base_library_init()</c>, a marker that GCC 13's
/// &lt;iostream&gt; emits and that no code calls. The dynamic loader refuses a library whose required
/// version is missing, unless the requirement is flagged weak (VER_FLG_WEAK); then it only warns.
/// So we set that flag on this one entry of the library's version-needs table and change nothing else.
/// The fix is applied only where the system lacks the version, and it is idempotent.
/// </remarks>
public static class TorchSharpNativeFix
{
    public const string MissingVersion = "GLIBCXX_3.4.32";
    const string LibraryFileName = "libLibTorchSharp.so";
    const uint ShtGnuVerneed = 0x6ffffffe;
    const ushort VerFlagWeak = 0x2;

    /// <summary>What happened to one copy of the native library.</summary>
    public enum Outcome { Patched, AlreadyPatched, NotNeeded }

    public sealed record FileResult(string Path, Outcome Outcome);

    /// <summary>
    /// Patches every copy of <c>libLibTorchSharp.so</c> that this process or a notebook kernel may load,
    /// if the system's libstdc++ lacks <see cref="MissingVersion"/>. Returns what it did to each copy found.
    /// </summary>
    public static IReadOnlyList<FileResult> Apply()
    {
        if (!OperatingSystem.IsLinux() || SystemLibStdCxxHas(MissingVersion))
            return [];
        var results = new List<FileResult>();
        foreach (var path in CandidatePaths().Where(File.Exists))
            results.Add(new FileResult(path, PatchFile(path)));
        return results;
    }

    /// <summary>Sets the weak flag on the <see cref="MissingVersion"/> need of one ELF file, in place.</summary>
    public static Outcome PatchFile(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var offsets = FindVersionNeedFlagOffsets(bytes, MissingVersion);
        if (offsets.Count == 0)
            return Outcome.NotNeeded;
        bool changed = false;
        foreach (var offset in offsets)
        {
            var flags = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(offset));
            if ((flags & VerFlagWeak) != 0)
                continue;
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(offset), (ushort)(flags | VerFlagWeak));
            changed = true;
        }
        if (!changed)
            return Outcome.AlreadyPatched;
        // Write beside, then rename: a process that has the old file mapped keeps its copy intact.
        var temporary = path + ".patching";
        File.WriteAllBytes(temporary, bytes);
        File.Move(temporary, path, overwrite: true);
        return Outcome.Patched;
    }

    /// <summary>
    /// Byte offsets of the <c>vna_flags</c> field of every version-need entry named <paramref name="version"/>
    /// in a 64-bit little-endian ELF image.
    /// </summary>
    public static List<int> FindVersionNeedFlagOffsets(ReadOnlySpan<byte> elf, string version)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException("Not an ELF file.");
        if (elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException("Only 64-bit little-endian ELF files are supported.");

        long sectionTable = ReadInt64(elf, 0x28);
        int sectionSize = BinaryPrimitives.ReadUInt16LittleEndian(elf[0x3A..]);
        int sectionCount = BinaryPrimitives.ReadUInt16LittleEndian(elf[0x3C..]);
        var found = new List<int>();
        for (int s = 0; s < sectionCount; s++)
        {
            var header = elf.Slice(checked((int)(sectionTable + s * sectionSize)), 64);
            if (BinaryPrimitives.ReadUInt32LittleEndian(header[4..]) != ShtGnuVerneed)
                continue;
            int tableOffset = checked((int)ReadInt64(header, 0x18));
            int stringSection = (int)BinaryPrimitives.ReadUInt32LittleEndian(header[0x28..]);
            int needCount = (int)BinaryPrimitives.ReadUInt32LittleEndian(header[0x2C..]);
            var stringsHeader = elf.Slice(checked((int)(sectionTable + stringSection * sectionSize)), 64);
            int stringsOffset = checked((int)ReadInt64(stringsHeader, 0x18));

            // Verneed: vn_version u16, vn_cnt u16, vn_file u32, vn_aux u32, vn_next u32.
            int need = tableOffset;
            for (int n = 0; n < needCount; n++)
            {
                int auxCount = BinaryPrimitives.ReadUInt16LittleEndian(elf[(need + 2)..]);
                int aux = need + (int)BinaryPrimitives.ReadUInt32LittleEndian(elf[(need + 8)..]);
                // Vernaux: vna_hash u32, vna_flags u16, vna_other u16, vna_name u32, vna_next u32.
                for (int a = 0; a < auxCount; a++)
                {
                    int name = stringsOffset + (int)BinaryPrimitives.ReadUInt32LittleEndian(elf[(aux + 8)..]);
                    if (ReadCString(elf, name) == version)
                        found.Add(aux + 4);
                    aux += (int)BinaryPrimitives.ReadUInt32LittleEndian(elf[(aux + 12)..]);
                }
                need += (int)BinaryPrimitives.ReadUInt32LittleEndian(elf[(need + 12)..]);
            }
        }
        return found;
    }

    /// <summary>True when the libstdc++ this process uses (or the system's default one) defines <paramref name="version"/>.</summary>
    public static bool SystemLibStdCxxHas(string version)
    {
        var path = LoadedLibrary(name => name.StartsWith("libstdc++.so", StringComparison.Ordinal)) ?? DefaultLibStdCxx();
        if (path is null)
            return true; // No libstdc++ found: nothing we can reason about, leave the files alone.
        var needle = Encoding.ASCII.GetBytes(version + "\0");
        return File.ReadAllBytes(path).AsSpan().IndexOf(needle) >= 0;
    }

    /// <summary>Every place a copy of the native library may be loaded from, by builds, tests or notebook kernels.</summary>
    public static IEnumerable<string> CandidatePaths()
    {
        var places = new List<string>
        {
            // A built program or test: beside the assembly, or in its runtimes folder.
            Path.Combine(AppContext.BaseDirectory, LibraryFileName),
            Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", LibraryFileName),
        };
        // In a notebook kernel TorchSharp.dll is loaded straight from its package: <package>/lib/net8.0/.
        var assembly = typeof(TorchSharp.torch).Assembly;
        var assemblyFolder = Path.GetDirectoryName(assembly.Location);
        if (!string.IsNullOrEmpty(assemblyFolder))
        {
            places.Add(Path.Combine(assemblyFolder, "cpu", LibraryFileName));
            places.Add(Path.Combine(assemblyFolder, "cuda", LibraryFileName));
        }
        var version = assembly.GetName().Version!;
        foreach (var packages in NuGetPackageFolders())
        {
            var torchSharp = Path.Combine(packages, "torchsharp", $"{version.Major}.{version.Minor}.{version.Build}");
            // The package's own copy, which builds and notebook kernels copy from.
            places.Add(Path.Combine(torchSharp, "runtimes", "linux-x64", "native", LibraryFileName));
            // The copies TorchSharp assembles beside its assembly when it runs inside a notebook kernel.
            places.Add(Path.Combine(torchSharp, "lib", "net8.0", "cpu", LibraryFileName));
            places.Add(Path.Combine(torchSharp, "lib", "net8.0", "cuda", LibraryFileName));
        }
        return places.Select(Path.GetFullPath).Distinct();
    }

    static IEnumerable<string> NuGetPackageFolders()
    {
        var configured = System.Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        if (!string.IsNullOrEmpty(configured))
            yield return configured;
        var home = System.Environment.GetFolderPath(System.Environment.SpecialFolder.UserProfile);
        yield return Path.Combine(home, ".nuget", "packages");
    }

    /// <summary>The path of the first shared library this process has loaded whose file name passes <paramref name="matches"/>.</summary>
    internal static string? LoadedLibrary(Func<string, bool> matches)
    {
        const string maps = "/proc/self/maps";
        if (!File.Exists(maps))
            return null;
        return File.ReadLines(maps)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries).LastOrDefault())
            .FirstOrDefault(file => file is not null && file.StartsWith('/') && matches(Path.GetFileName(file)));
    }

    static string? DefaultLibStdCxx() =>
        new[] { "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib" }
            .Select(dir => Path.Combine(dir, "libstdc++.so.6"))
            .FirstOrDefault(File.Exists);

    static long ReadInt64(ReadOnlySpan<byte> data, int offset) => BinaryPrimitives.ReadInt64LittleEndian(data[offset..]);

    static string ReadCString(ReadOnlySpan<byte> data, int offset)
    {
        int end = data[offset..].IndexOf((byte)0);
        return Encoding.ASCII.GetString(data.Slice(offset, end));
    }
}
