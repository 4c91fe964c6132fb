using System.Globalization;

namespace Fleet.Testing;

/// <summary>
/// Marks what a test run creates outside itself (network namespaces, loop volumes, containers) with the test
/// process's id, so that a later run can tell what a killed run left behind and remove it.
/// </summary>
public static class OwnerProcess
{
    /// <summary>This test process's id, as written into a mark.</summary>
    public static string Current { get; } = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);

    /// <summary>True when the mark names a process that still runs; false for a gone process or an unreadable mark.</summary>
    public static bool IsAlive(string mark) =>
        int.TryParse(mark.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && Directory.Exists($"/proc/{pid}");
}
