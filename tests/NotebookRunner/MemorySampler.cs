namespace NotebookRunner;

/// <summary>
/// Follows the resident memory of a process and all its descendants (dotnet-repl starts the kernel as a child
/// process) and keeps the largest total it saw. Linux only (/proc); elsewhere the peak stays unknown.
/// </summary>
/// <remarks>Sampled every 200 ms, so a spike shorter than that can be missed; notebooks hold their tensors for
/// whole cells, far longer.</remarks>
public sealed class MemorySampler : IDisposable
{
    readonly int rootId;
    readonly Timer timer;
    long peakBytes;

    public MemorySampler(int processId)
    {
        rootId = processId;
        timer = new Timer(_ => Sample(), null, TimeSpan.Zero, TimeSpan.FromMilliseconds(200));
    }

    /// <summary>The largest resident memory of the process tree seen so far, in bytes; null where /proc is missing.</summary>
    public long? PeakBytes => OperatingSystem.IsLinux() ? Interlocked.Read(ref peakBytes) : null;

    void Sample()
    {
        if (!OperatingSystem.IsLinux())
            return;
        long total = TreeOf(rootId).Sum(ResidentBytes);
        long seen;
        do seen = Interlocked.Read(ref peakBytes);
        while (total > seen && Interlocked.CompareExchange(ref peakBytes, total, seen) != seen);
    }

    /// <summary>The process and every descendant, found through the parent id in /proc/[pid]/stat.</summary>
    static List<int> TreeOf(int root)
    {
        var parents = new Dictionary<int, int>();
        foreach (var folder in Directory.EnumerateDirectories("/proc"))
            if (int.TryParse(Path.GetFileName(folder), out var id) && ParentOf(id) is int parent)
                parents[id] = parent;
        var tree = new List<int> { root };
        for (int i = 0; i < tree.Count; i++)
            tree.AddRange(parents.Where(p => p.Value == tree[i]).Select(p => p.Key));
        return tree;
    }

    static int? ParentOf(int id)
    {
        try
        {
            // The command name in parentheses may hold spaces; the parent id is the second field after it.
            var stat = File.ReadAllText($"/proc/{id}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return int.Parse(fields[1]);
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    static long ResidentBytes(int id)
    {
        try
        {
            var line = File.ReadLines($"/proc/{id}/status").FirstOrDefault(l => l.StartsWith("VmRSS:"));
            return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        }
        catch (IOException) { return 0; }
        catch (UnauthorizedAccessException) { return 0; }
    }

    public void Dispose()
    {
        timer.Dispose();
        Sample();
    }
}
