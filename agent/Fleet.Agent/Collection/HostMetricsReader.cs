using System.Globalization;
using Fleet.Protos.V1;

namespace Fleet.Agent.Collection;

/// <summary>
/// Host CPU, memory and data-volume disk, Linux only: /proc/stat, /proc/meminfo, the cgroup v2 memory
/// limit when one applies, and statfs of the data directory (through <see cref="DriveInfo"/>). Anything
/// absent (another OS, a restricted /proc) leaves its fields unset instead of failing the cycle.
/// The CPU figure is the whole machine's busy share between two cycles.
/// </summary>
internal sealed class HostMetricsReader(string procRoot = "/proc", string cgroupRoot = "/sys/fs/cgroup")
{
    private CpuTimes? _previousCpu;

    public NodeSnapshot.Types.Host Read(string? dataDirectory, ICollection<string> errors)
    {
        var host = new NodeSnapshot.Types.Host();
        var cpu = ReadCpu();
        if (cpu is { } current)
        {
            if (RateCalculator.CpuPercent(_previousCpu, current) is { } percent)
            {
                host.CpuPercent = percent;
            }

            _previousCpu = current;
        }

        if (ReadMemory() is { } memory)
        {
            host.MemoryTotalBytes = memory.Total;
            host.MemoryUsedBytes = memory.Used;
        }

        if (!string.IsNullOrEmpty(dataDirectory))
        {
            try
            {
                var drive = new DriveInfo(dataDirectory);
                host.DiskTotalBytes = (ulong)Math.Max(0, drive.TotalSize);
                host.DiskUsedBytes = (ulong)Math.Max(0, drive.TotalSize - drive.TotalFreeSpace);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
                errors.Add($"host disk: {PostgresFailure.Short(e.Message)}");
            }
        }

        return host;
    }

    /// <summary>The aggregate "cpu" line of /proc/stat: busy = everything but idle and iowait.</summary>
    internal CpuTimes? ReadCpu()
    {
        var line = ReadFirstLine(Path.Combine(procRoot, "stat"));
        return line is null ? null : ParseCpuLine(line);
    }

    internal static CpuTimes? ParseCpuLine(string line)
    {
        var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 5 || fields[0] != "cpu")
        {
            return null;
        }

        ulong total = 0;
        ulong idle = 0;
        // user nice system idle iowait irq softirq steal [guest guest_nice, already inside user/nice]
        for (var i = 1; i < fields.Length && i <= 8; i++)
        {
            if (!ulong.TryParse(fields[i], NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                return null;
            }

            total += value;
            if (i is 4 or 5)
            {
                idle += value;
            }
        }

        return new CpuTimes(total - idle, total);
    }

    /// <summary>MemTotal − MemAvailable, capped by the cgroup v2 limit (used = memory.current − inactive_file) when lower.</summary>
    internal (ulong Total, ulong Used)? ReadMemory()
    {
        var meminfo = ReadAllText(Path.Combine(procRoot, "meminfo"));
        if (meminfo is null)
        {
            return null;
        }

        var total = MeminfoKilobytes(meminfo, "MemTotal") * 1024;
        var available = MeminfoKilobytes(meminfo, "MemAvailable") * 1024;
        if (total == 0)
        {
            return null;
        }

        var used = total > available ? total - available : 0;
        if (ReadCgroupMemory() is { } cgroup && cgroup.Limit < total)
        {
            return (cgroup.Limit, Math.Min(cgroup.Used, cgroup.Limit));
        }

        return (total, used);
    }

    private (ulong Limit, ulong Used)? ReadCgroupMemory()
    {
        var max = ReadFirstLine(Path.Combine(cgroupRoot, "memory.max"))?.Trim();
        var current = ReadFirstLine(Path.Combine(cgroupRoot, "memory.current"))?.Trim();
        if (max is null or "max" || current is null ||
            !ulong.TryParse(max, NumberStyles.None, CultureInfo.InvariantCulture, out var limit) ||
            !ulong.TryParse(current, NumberStyles.None, CultureInfo.InvariantCulture, out var usage))
        {
            return null;
        }

        var stat = ReadAllText(Path.Combine(cgroupRoot, "memory.stat")) ?? string.Empty;
        var inactiveFile = StatValue(stat, "inactive_file");
        return (limit, usage > inactiveFile ? usage - inactiveFile : 0);
    }

    internal static ulong MeminfoKilobytes(string meminfo, string key)
    {
        foreach (var line in meminfo.AsSpan().EnumerateLines())
        {
            if (line.StartsWith(key, StringComparison.Ordinal) && line.Length > key.Length && line[key.Length] == ':')
            {
                var rest = line[(key.Length + 1)..].Trim();
                var space = rest.IndexOf(' ');
                var digits = space < 0 ? rest : rest[..space];
                return ulong.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : 0;
            }
        }

        return 0;
    }

    private static ulong StatValue(string stat, string key)
    {
        foreach (var line in stat.AsSpan().EnumerateLines())
        {
            if (line.StartsWith(key, StringComparison.Ordinal) && line.Length > key.Length && line[key.Length] == ' ')
            {
                return ulong.TryParse(line[(key.Length + 1)..].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : 0;
            }
        }

        return 0;
    }

    private static string? ReadFirstLine(string path)
    {
        var text = ReadAllText(path);
        if (text is null)
        {
            return null;
        }

        var end = text.IndexOf('\n', StringComparison.Ordinal);
        return end < 0 ? text : text[..end];
    }

    private static string? ReadAllText(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
