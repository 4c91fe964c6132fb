using System.Globalization;

namespace Fleet.Bench.Aggregator.Measurement;

/// <summary>Reads CPU time, memory and sockets of a process from /proc (Linux).</summary>
internal static class ProcStats
{
    /// <summary>USER_HZ: the unit of utime and stime in /proc/PID/stat (100 on every Linux ABI .NET runs on).</summary>
    private const double ClockTicksPerSecond = 100;

    /// <summary>utime + stime of <paramref name="pid"/> (all threads), from /proc/PID/stat; null once it has exited.</summary>
    public static CpuTime? ProcessCpu(int pid)
    {
        var fields = StatFields(pid);
        if (fields is null)
        {
            return null;
        }

        // Fields after "pid (comm) ": state is field 3, so utime (14) is index 11 and stime (15) index 12.
        var utime = long.Parse(fields[11], CultureInfo.InvariantCulture);
        var stime = long.Parse(fields[12], CultureInfo.InvariantCulture);
        return new CpuTime(TimeSpan.FromSeconds(utime / ClockTicksPerSecond), TimeSpan.FromSeconds(stime / ClockTicksPerSecond));
    }

    /// <summary>This process's CPU time (getrusage, finer than /proc's 10 ms ticks).</summary>
    public static CpuTime CurrentProcessCpu()
    {
        var usage = Environment.CpuUsage;
        return new CpuTime(usage.UserTime, usage.PrivilegedTime);
    }

    /// <summary>VmRSS and VmHWM (peak RSS) in bytes, and the thread count, from /proc/PID/status.</summary>
    public static MemoryFigures? Memory(int pid)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines($"/proc/{pid}/status");
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }

        long rss = 0, hwm = 0, threads = 0;
        foreach (var line in lines)
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = Kilobytes(line) * 1024;
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                hwm = Kilobytes(line) * 1024;
            }
            else if (line.StartsWith("Threads:", StringComparison.Ordinal))
            {
                threads = long.Parse(line["Threads:".Length..].Trim(), CultureInfo.InvariantCulture);
            }
        }

        return new MemoryFigures(rss, hwm, (int)threads);
    }

    /// <summary>Busy and total jiffies of the whole machine (first line of /proc/stat).</summary>
    public static (long Busy, long Total) MachineCpu()
    {
        var line = File.ReadLines("/proc/stat").First();
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        long total = 0, idle = 0;
        for (var i = 1; i < parts.Length && i <= 8; i++)
        {
            var value = long.Parse(parts[i], CultureInfo.InvariantCulture);
            total += value;
            if (i is 4 or 5)
            {
                idle += value; // idle, iowait
            }
        }

        return (total - idle, total);
    }

    /// <summary>ESTABLISHED TCP connections whose local port is <paramref name="port"/> (server side), IPv4 and IPv6.</summary>
    public static int EstablishedConnections(int port)
    {
        var hexPort = ":" + port.ToString("X4", CultureInfo.InvariantCulture);
        var count = 0;
        foreach (var file in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            if (!File.Exists(file))
            {
                continue;
            }

            foreach (var line in File.ReadLines(file).Skip(1))
            {
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length > 3 && parts[1].EndsWith(hexPort, StringComparison.Ordinal) && parts[3] == "01")
                {
                    count++;
                }
            }
        }

        return count;
    }

    private static string[]? StatFields(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return null;
        }

        var close = text.LastIndexOf(')');
        return text[(close + 2)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
    }

    private static long Kilobytes(string line)
    {
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return long.Parse(parts[1], CultureInfo.InvariantCulture);
    }
}

/// <summary>CPU time a process has used: user and system (kernel) time.</summary>
internal readonly record struct CpuTime(TimeSpan User, TimeSpan System)
{
    public TimeSpan Total => User + System;

    public static CpuTime operator -(CpuTime after, CpuTime before) => new(after.User - before.User, after.System - before.System);
}

internal sealed record MemoryFigures(long RssBytes, long PeakRssBytes, int Threads);
