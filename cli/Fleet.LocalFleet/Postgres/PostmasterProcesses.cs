using System.Globalization;
using System.Text.RegularExpressions;

namespace Fleet.LocalFleet.Postgres;

/// <summary>
/// The OS processes of one node: its postmaster (found through postmaster.pid) and every child, which
/// shows the node's tag (its cluster_name) in its ps title. Used where pg_ctl cannot help: after a kill.
/// </summary>
internal sealed class PostmasterProcesses
{
    private readonly string dataDirectory;
    private readonly string socketDirectory;
    private readonly Regex tagPattern;

    public PostmasterProcesses(string dataDirectory, string socketDirectory, string processTag)
    {
        this.dataDirectory = dataDirectory;
        this.socketDirectory = socketDirectory;
        // The tag is also the tail of the data directory, so it matches the postmaster's "-D" too;
        // the lookahead keeps "node1" from matching "node10".
        tagPattern = new Regex(Regex.Escape(processTag) + "(?![0-9A-Za-z_])", RegexOptions.CultureInvariant);
    }

    private string PidFilePath => Path.Combine(dataDirectory, "postmaster.pid");

    /// <summary>The live postmaster's pid, or null when the node is down.</summary>
    public int? RunningPostmasterPid => ReadPid(PidFilePath) is { } pid && IsOurPostmaster(pid) ? pid : null;

    /// <summary>The live postmaster and every live process with this node's tag (its children).</summary>
    public IReadOnlyList<int> FindAll() => ProcessTable.FindAlive(tagPattern);

    /// <summary>Waits for processes with this node's tag to exit, SIGKILLs those that do not; returns survivors.</summary>
    public async Task<IReadOnlyList<int>> KillLeftoversAsync(TimeSpan grace)
    {
        var leftovers = ProcessTable.FindAlive(tagPattern);
        if (leftovers.Count == 0)
        {
            return leftovers;
        }

        leftovers = await ProcessTable.WaitForExitAsync(leftovers, grace);
        foreach (var pid in leftovers)
        {
            ProcessTable.Kill(pid);
        }

        return await ProcessTable.WaitForExitAsync(leftovers, TimeSpan.FromSeconds(5));
    }

    /// <summary>
    /// A SIGKILLed postmaster stays a zombie until init reaps it, and PostgreSQL reads a pid that still
    /// answers kill(0) as "another server is running", refusing to start. Once the node is down and its
    /// children are gone, its postmaster.pid and socket lock file are stale. Returns what was removed.
    /// </summary>
    public IReadOnlyList<string> RemoveStaleLockFiles(int port)
    {
        var removed = new List<string>();
        foreach (var lockFile in new[] { PidFilePath, Path.Combine(socketDirectory, $".s.PGSQL.{port}.lock") })
        {
            if (ReadPid(lockFile) is { } pid && !IsOurPostmaster(pid))
            {
                File.Delete(lockFile);
                removed.Add($"{Path.GetFileName(lockFile)} of dead postmaster {pid}");
            }
        }

        return removed;
    }

    /// <summary>The pid on the first line of a postmaster lock file, or null if absent or being written.</summary>
    public static int? ReadPid(string lockFile)
    {
        try
        {
            var firstLine = File.ReadLines(lockFile).FirstOrDefault();
            return int.TryParse(firstLine, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    // Lock files outlive a killed postmaster and pids get reused: only a live process started
    // with "-D <this data directory>" is ours.
    private bool IsOurPostmaster(int pid) =>
        ProcessTable.IsAlive(pid) &&
        ProcessTable.CommandLine(pid)?.Split(' ').Contains(dataDirectory, StringComparer.Ordinal) == true;
}
