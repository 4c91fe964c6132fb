namespace Fleet.Agent.Actions;

/// <summary>
/// Whether the local postmaster is gone, from its pid file and /proc (Linux). Cheap enough for 100 ms probes.
/// Also kills it with all its children (the fence of a server that does not answer).
/// </summary>
internal static class PostmasterProbe
{
    /// <summary>
    /// True when postmaster.pid names a process that no longer exists (or is a zombie): a crash. A clean
    /// shutdown removes the pid file, and that is not a death (an operator stopped it on purpose).
    /// </summary>
    public static bool IsDead(string? dataDirectory)
    {
        if (string.IsNullOrEmpty(dataDirectory))
        {
            return false;
        }

        try
        {
            var pidFile = Path.Combine(dataDirectory, "postmaster.pid");
            if (!File.Exists(pidFile))
            {
                return false;
            }

            int pid;
            using (var reader = new StreamReader(pidFile))
            {
                if (!int.TryParse(reader.ReadLine(), out pid) || !File.Exists($"/proc/{pid}/stat"))
                {
                    return true;
                }
            }

            // A killed postmaster can linger as a zombie until it is reaped: its state is 'Z' (or 'X').
            string stat;
            try
            {
                stat = File.ReadAllText($"/proc/{pid}/stat");
            }
            catch (IOException)
            {
                return true; // reaped while we looked
            }

            var end = stat.LastIndexOf(')');
            return end > 0 && end + 2 < stat.Length && stat[end + 2] is 'Z' or 'X';
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>True when postmaster.pid names a live postmaster (a clean stop removes the file, a crash leaves a dead pid).</summary>
    public static bool IsRunning(string? dataDirectory) =>
        !string.IsNullOrEmpty(dataDirectory) && File.Exists(Path.Combine(dataDirectory, "postmaster.pid")) && !IsDead(dataDirectory);

    /// <summary>
    /// SIGKILL to the postmaster named in postmaster.pid and to every child of it (backends, WAL senders,
    /// background processes): the only signal a stopped (frozen) process acts on, and it leaves no process
    /// that could complete a commit once the freeze ends. Returns how many processes were signalled (0 when
    /// no postmaster runs). Throws when the pid file cannot be read or a process cannot be signalled.
    /// </summary>
    public static int KillWithChildren(string dataDirectory)
    {
        var pidFile = Path.Combine(dataDirectory, "postmaster.pid");
        if (!File.Exists(pidFile))
        {
            return 0;
        }

        int postmaster;
        using (var reader = new StreamReader(pidFile))
        {
            if (!int.TryParse(reader.ReadLine(), out postmaster) || postmaster <= 1)
            {
                throw new InvalidOperationException($"{pidFile} does not start with a process id");
            }
        }

        // Children first collected, then the postmaster killed first, so it forks no new one meanwhile.
        var children = ChildrenOf(postmaster);
        var killed = 0;
        foreach (var pid in children.Prepend(postmaster))
        {
            try
            {
                using var process = System.Diagnostics.Process.GetProcessById(pid);
                process.Kill();
                killed++;
            }
            catch (ArgumentException)
            {
                // Already gone.
            }
        }

        return killed;
    }

    private static List<int> ChildrenOf(int parent)
    {
        var children = new List<int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid))
            {
                continue;
            }

            try
            {
                // /proc/PID/stat: "pid (comm) state ppid ..."; comm may contain spaces and parentheses.
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ', 3);
                if (fields.Length > 1 && int.TryParse(fields[1], out var ppid) && ppid == parent)
                {
                    children.Add(pid);
                }
            }
            catch (IOException)
            {
                // Exited while we looked.
            }
        }

        return children;
    }
}
