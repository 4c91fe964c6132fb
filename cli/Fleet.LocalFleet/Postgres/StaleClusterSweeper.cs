using System.Globalization;
using System.Text.RegularExpressions;

namespace Fleet.LocalFleet.Postgres;

/// <summary>
/// Removes cluster directories whose owning test process is gone (killed with SIGKILL, or a debugger
/// session stopped), together with any server still running from them. Runs before each cluster start.
/// </summary>
internal static class StaleClusterSweeper
{
    public const string OwnerFileName = "fleet-owner.pid";

    public static void Sweep(string parentDirectory, string directoryPrefix, Action<string> log)
    {
        foreach (var directory in Directory.EnumerateDirectories(parentDirectory, directoryPrefix + "*"))
        {
            // No owner file: a cluster being created right now by another process. A live owner: still in use.
            if (ReadOwnerPid(directory) is not { } ownerPid || ProcessTable.IsAlive(ownerPid))
            {
                continue;
            }

            KillServers(directory);
            try
            {
                Directory.Delete(directory, recursive: true);
                log($"removed stale cluster {directory} left by exited process {ownerPid}");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                log($"could not remove stale cluster {directory}: {e.Message}");
            }
        }
    }

    private static void KillServers(string clusterDirectory)
    {
        // Postmasters first: a live postmaster would restart children killed before it.
        foreach (var dataDirectory in Directory.EnumerateDirectories(clusterDirectory))
        {
            if (PostmasterProcesses.ReadPid(Path.Combine(dataDirectory, "postmaster.pid")) is { } pid &&
                ProcessTable.CommandLine(pid)?.Contains(dataDirectory, StringComparison.Ordinal) == true)
            {
                ProcessTable.Kill(pid);
            }
        }

        var tag = new Regex(Regex.Escape(Path.GetFileName(clusterDirectory)) + "(?![0-9A-Za-z_])", RegexOptions.CultureInvariant);
        foreach (var pid in ProcessTable.FindAlive(tag))
        {
            ProcessTable.Kill(pid);
        }
    }

    private static int? ReadOwnerPid(string directory)
    {
        try
        {
            var text = File.ReadAllText(Path.Combine(directory, OwnerFileName)).Trim();
            return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
