using System.Globalization;

namespace Fleet.Testing.Tests.Postgres;

/// <summary>
/// An independent look at /proc, so leftover-process assertions do not trust the code under test.
/// Server processes mention the cluster directory name: the postmaster in "-D", children in their
/// cluster_name ps title. Zombies (dead, not yet reaped by init) do not count.
/// </summary>
internal static class ServerProcesses
{
    public static IReadOnlyList<string> Mentioning(string fragment) =>
        Directory.EnumerateDirectories("/proc")
            .Select(Path.GetFileName)
            .Where(name => int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            .Select(pid => (Pid: pid!, CommandLine: Read($"/proc/{pid}/cmdline")?.Replace('\0', ' '), Stat: Read($"/proc/{pid}/stat")))
            .Where(process => process.CommandLine?.Contains(fragment, StringComparison.Ordinal) == true && !IsDead(process.Stat))
            .Select(process => $"{process.Pid}: {process.CommandLine}")
            .ToList();

    public static bool IsAlive(int pid) => !IsDead(Read($"/proc/{pid}/stat"));

    private static bool IsDead(string? stat) =>
        stat is null || stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z');

    private static string? Read(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
