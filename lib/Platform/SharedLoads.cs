using static TorchSharp.torch;

namespace WhatNetworksLearn.Platform;

/// <summary>
/// One copy per process of what the kit reads from disk: models (per name and device), data sets and photos.
/// A notebook kernel keeps every earlier run's variables alive, so a cell that loads a model, rerun ten times,
/// would otherwise hold ten copies of its weights. Loading the same thing again hands out the copy in memory.
/// </summary>
/// <remarks>
/// <para>Models are shared through leases (<see cref="Lease{T}"/>): each load is its own object around the one
/// network, and the network is freed when the last of those objects is disposed, so a holder that disposes its
/// model cannot pull it from under the others.</para>
/// <para>Tensors (<see cref="Tensor"/>) are kept for the life of the process and handed out as aliases: a holder
/// may dispose its alias freely. Holders share the values, so change a copy (<c>clone()</c>), not the tensor in place.</para>
/// </remarks>
public static class SharedLoads
{
    static readonly Lock Gate = new();
    static readonly Dictionary<string, (IDisposable Value, int Leases)> Leased = [];
    static readonly Dictionary<string, Tensor> Tensors = [];

    /// <summary>
    /// The shared value for <paramref name="key"/>, loaded by <paramref name="load"/> if no lease on it is out, and the
    /// action that gives this lease back (call it once; the value is disposed when the last lease is given back).
    /// </summary>
    public static (T Value, Action Release) Lease<T>(string key, Func<T> load) where T : class, IDisposable
    {
        lock (Gate)
        {
            var (value, leases) = Leased.TryGetValue(key, out var entry) ? entry : (load(), 0);
            Leased[key] = (value, leases + 1);
            var released = 0;
            return ((T)value, () =>
            {
                if (Interlocked.Exchange(ref released, 1) == 0)
                    Release(key);
            });
        }
    }

    static void Release(string key)
    {
        lock (Gate)
        {
            var (value, leases) = Leased[key];
            if (leases > 1)
            {
                Leased[key] = (value, leases - 1);
                return;
            }
            Leased.Remove(key);
            value.Dispose();
        }
    }

    /// <summary>How many leases on <paramref name="key"/> are out (0: nothing of that key is in memory).</summary>
    public static int Leases(string key)
    {
        lock (Gate)
            return Leased.TryGetValue(key, out var entry) ? entry.Leases : 0;
    }

    /// <summary>An alias of the tensor for <paramref name="key"/>, loaded by <paramref name="load"/> the first time.</summary>
    public static Tensor Tensor(string key, Func<Tensor> load)
    {
        lock (Gate)
        {
            if (!Tensors.TryGetValue(key, out var tensor))
                Tensors[key] = tensor = load().DetachFromDisposeScope();
            return tensor.alias();
        }
    }

    /// <summary>The key of a file's content as it is now: its full path, size and time of last change.</summary>
    public static string FileKey(string path)
    {
        var file = new FileInfo(path);
        return $"{file.FullName}|{file.Length}|{file.LastWriteTimeUtc.Ticks}";
    }
}
