using System.Runtime.InteropServices;

namespace Fleet.Bench.Agent.Processes;

/// <summary>The one libc call .NET does not expose: a plain SIGTERM, so children shut down cleanly.</summary>
internal static partial class Posix
{
    private const int SigTerm = 15;

    public static void Terminate(int pid) => _ = Kill(pid, SigTerm);

    /// <summary>Effective user id (0 = root).</summary>
    public static uint EffectiveUserId() => GetEffectiveUserId();

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEffectiveUserId();
}
