namespace Fleet.Agent.Actions;

/// <summary>Whether the local postmaster is gone, from its pid file and /proc (Linux). Cheap enough for 100 ms probes.</summary>
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

            using var reader = new StreamReader(pidFile);
            if (!int.TryParse(reader.ReadLine(), out var pid) || !File.Exists($"/proc/{pid}/stat"))
            {
                return true;
            }

            // A killed postmaster can linger as a zombie until it is reaped: its state is 'Z' (or 'X').
            var stat = File.ReadAllText($"/proc/{pid}/stat");
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
}
