using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Fleet.LocalFleet.Postgres;

/// <summary>
/// Reads /proc to find server processes. Postmasters started by pg_ctl are not our children, so
/// <see cref="Process"/> cannot wait for them, and a process nobody has reaped yet (a zombie) must count as gone.
/// </summary>
internal static class ProcessTable
{
    /// <summary>True if <paramref name="pid"/> exists and is neither a zombie nor dead.</summary>
    public static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // "pid (comm) S ...": comm may contain spaces and parentheses, so parse after the last ')'.
            var state = stat[(stat.LastIndexOf(')') + 2)..];
            return state.Length > 0 && state[0] is not ('Z' or 'X');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The command line with arguments separated by spaces, or null if the process is gone.</summary>
    public static string? CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').TrimEnd();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Live processes whose command line matches; server children show their cluster_name there.</summary>
    public static IReadOnlyList<int> FindAlive(Regex commandLinePattern) =>
        Directory.EnumerateDirectories("/proc")
            .Select(path => int.TryParse(Path.GetFileName(path), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : 0)
            .Where(pid => pid > 0 && pid != Environment.ProcessId)
            .Where(pid => CommandLine(pid) is { } commandLine && commandLinePattern.IsMatch(commandLine) && IsAlive(pid))
            .ToList();

    /// <summary>SIGKILL; a process that is already gone is not an error.</summary>
    public static void Kill(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            process.Kill();
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            // Exited between lookup and kill.
        }
    }

    /// <summary>Sends a named signal (STOP, CONT) with kill(1); processes already gone are skipped.</summary>
    public static void Signal(string signal, IReadOnlyCollection<int> pids)
    {
        if (pids.Count == 0)
        {
            return;
        }

        var start = new ProcessStartInfo("kill") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add("-" + signal);
        foreach (var pid in pids)
        {
            start.ArgumentList.Add(pid.ToString(CultureInfo.InvariantCulture));
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("kill could not be started");
        process.WaitForExit();
    }

    /// <summary>Blocks until <paramref name="pid"/> is gone; SIGKILL takes effect within milliseconds.</summary>
    public static bool WaitForExit(int pid, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (IsAlive(pid))
        {
            if (deadline.Elapsed >= timeout)
            {
                return false;
            }

            Thread.Sleep(10);
        }

        return true;
    }

    /// <summary>Polls until every pid is gone or the deadline passes; returns the survivors.</summary>
    public static async Task<IReadOnlyList<int>> WaitForExitAsync(IReadOnlyList<int> pids, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var alive = pids.Where(IsAlive).ToList();
            if (alive.Count == 0 || deadline.Elapsed >= timeout)
            {
                return alive;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(25));
        }
    }
}
