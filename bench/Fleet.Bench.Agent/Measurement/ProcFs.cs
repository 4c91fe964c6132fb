using System.Globalization;

namespace Fleet.Bench.Agent.Measurement;

/// <summary>CPU counters of one process from /proc/PID/stat, in clock ticks (USER_HZ = 100 on Linux: 10 ms).</summary>
internal readonly record struct ProcCpu(int Pid, int ParentPid, long UserTicks, long SystemTicks, long ChildUserTicks, long ChildSystemTicks)
{
    /// <summary>Milliseconds per tick; USER_HZ is 100 on every Linux architecture .NET runs on.</summary>
    public const double TickMilliseconds = 10.0;

    /// <summary>utime + stime: the process itself, all its threads, dead ones included.</summary>
    public long OwnTicks => UserTicks + SystemTicks;

    /// <summary>cutime + cstime: children that exited and were waited for.</summary>
    public long ReapedChildTicks => ChildUserTicks + ChildSystemTicks;
}

/// <summary>Memory of one process: /proc/PID/smaps_rollup and /proc/PID/status, in KiB.</summary>
internal sealed record ProcMemory(long RssKb, long PssKb, long SharedCleanKb, long SharedDirtyKb, long PrivateCleanKb, long PrivateDirtyKb, long AnonymousKb, long PeakRssKb)
{
    /// <summary>Private_Clean + Private_Dirty: pages no other process maps (file-backed ones included).</summary>
    public long PrivateKb => PrivateCleanKb + PrivateDirtyKb;
}

/// <summary>Reads /proc. Every reader returns null once the process is gone.</summary>
internal static class ProcFs
{
    public static ProcCpu? ReadCpu(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        // "pid (comm) state ppid ..." — comm may contain spaces and parentheses: split after the last ')'.
        var close = text.LastIndexOf(')');
        if (close < 0)
        {
            return null;
        }

        var fields = text[(close + 2)..].Split(' ');
        // fields[0] is field 3 (state): field N is fields[N - 3].
        if (fields.Length < 15 || fields[0] == "Z")
        {
            return null;
        }

        return new ProcCpu(
            pid,
            int.Parse(fields[1], CultureInfo.InvariantCulture),
            long.Parse(fields[11], CultureInfo.InvariantCulture),
            long.Parse(fields[12], CultureInfo.InvariantCulture),
            long.Parse(fields[13], CultureInfo.InvariantCulture),
            long.Parse(fields[14], CultureInfo.InvariantCulture));
    }

    public static ProcMemory? ReadMemory(int pid)
    {
        Dictionary<string, long> rollup;
        Dictionary<string, long> status;
        try
        {
            rollup = ParseKb(File.ReadAllLines($"/proc/{pid}/smaps_rollup"));
            status = ParseKb(File.ReadAllLines($"/proc/{pid}/status"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        long Get(Dictionary<string, long> values, string key) => values.TryGetValue(key, out var v) ? v : 0;
        return new ProcMemory(
            Get(rollup, "Rss"),
            Get(rollup, "Pss"),
            Get(rollup, "Shared_Clean"),
            Get(rollup, "Shared_Dirty"),
            Get(rollup, "Private_Clean"),
            Get(rollup, "Private_Dirty"),
            Get(rollup, "Anonymous"),
            Get(status, "VmHWM"));
    }

    /// <summary>
    /// Where a process's resident memory is, from /proc/PID/smaps: RSS in KiB per kind of mapping (the JIT's
    /// double-mapped code, anonymous memory, malloc's heap, the runtime's native libraries, managed
    /// assemblies, system libraries).
    /// </summary>
    public static List<(string Kind, long RssKb)> ResidentBreakdown(int pid)
    {
        var totals = new Dictionary<string, long>(StringComparer.Ordinal);
        string kind = "other";
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/smaps"))
            {
                if (IsMappingHeader(line))
                {
                    var parts = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
                    kind = Classify(parts.Length >= 6 ? parts[5].Trim() : string.Empty);
                }
                else if (line.StartsWith("Rss:", StringComparison.Ordinal))
                {
                    var value = long.Parse(line[4..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                    totals[kind] = totals.GetValueOrDefault(kind) + value;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }

        return totals.OrderByDescending(t => t.Value).Select(t => (t.Key, t.Value)).ToList();
    }

    private static bool IsMappingHeader(string line)
    {
        // "7f39b0000000-7f39b0480000 rw-p 00000000 00:00 0   [path]"
        var dash = line.IndexOf('-', StringComparison.Ordinal);
        var space = line.IndexOf(' ', StringComparison.Ordinal);
        return dash > 0 && space > dash && line[..dash].All(char.IsAsciiHexDigit);
    }

    private static string Classify(string path) => path switch
    {
        "" => "anonymous: GC heap, thread stacks, runtime data",
        "[heap]" => "malloc heap",
        "[stack]" => "anonymous: GC heap, thread stacks, runtime data",
        _ when path.Contains("doublemapper", StringComparison.Ordinal) => "JIT code and stubs (W^X memfd)",
        _ when path.EndsWith("libcoreclr.so", StringComparison.Ordinal) => "libcoreclr.so",
        _ when path.EndsWith("libclrjit.so", StringComparison.Ordinal) => "libclrjit.so",
        _ when path.EndsWith(".dll", StringComparison.Ordinal) => "managed assemblies (.dll)",
        _ when path.EndsWith("/fleet-agent", StringComparison.Ordinal) => "the fleet-agent executable (AOT: all code; apphost: a few pages)",
        _ when path.StartsWith("/usr/lib", StringComparison.Ordinal) || path.StartsWith("/lib", StringComparison.Ordinal) => "system libraries (shared)",
        _ => "other mappings",
    };

    /// <summary>Pids of the live children of <paramref name="parentPid"/> (one scan of /proc).</summary>
    public static List<int> Children(int parentPid)
    {
        var children = new List<int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) &&
                ReadCpu(pid) is { } cpu && cpu.ParentPid == parentPid)
            {
                children.Add(pid);
            }
        }

        return children;
    }

    private static Dictionary<string, long> ParseKb(string[] lines)
    {
        var values = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in lines)
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }

            var rest = line[(colon + 1)..].Trim();
            var space = rest.IndexOf(' ', StringComparison.Ordinal);
            var number = space < 0 ? rest : rest[..space];
            if (long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                values[line[..colon]] = value;
            }
        }

        return values;
    }
}
