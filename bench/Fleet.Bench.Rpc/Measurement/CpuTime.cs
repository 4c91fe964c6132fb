using System.Diagnostics;

namespace Fleet.Bench.Rpc.Measurement;

/// <summary>CPU time a process has used: user and system (kernel) time.</summary>
internal readonly record struct CpuTime(TimeSpan User, TimeSpan System)
{
    public TimeSpan Total => User + System;

    /// <summary>This process, from getrusage (all threads).</summary>
    public static CpuTime OfCurrentProcess()
    {
        var usage = Environment.CpuUsage;
        return new CpuTime(usage.UserTime, usage.PrivilegedTime);
    }

    /// <summary>Another process, from /proc/PID/stat; zero once it has exited.</summary>
    public static CpuTime Of(Process process)
    {
        try
        {
            process.Refresh();
            return new CpuTime(process.UserProcessorTime, process.PrivilegedProcessorTime);
        }
        catch (InvalidOperationException)
        {
            return default;
        }
    }

    public static CpuTime operator -(CpuTime after, CpuTime before) => new(after.User - before.User, after.System - before.System);
}
