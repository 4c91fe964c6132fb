using System.Runtime.InteropServices;

namespace Fleet.Agent.Memory;

/// <summary>
/// glibc's malloc_trim: hands free pages of every malloc arena back to the OS. glibc keeps what native code
/// (the JIT, the runtime) freed for reuse, per thread arena, and a burst of native work (a slow refresh) can
/// leave 15 MB free but resident. Absent elsewhere (musl, other OSes): then a no-op, found out once.
/// </summary>
internal static partial class NativeHeap
{
    private static readonly Lazy<bool> Available = new(Probe);

    /// <summary>Trims; false when this C library has no malloc_trim.</summary>
    public static bool Trim()
    {
        if (!Available.Value)
        {
            return false;
        }

        _ = MallocTrim(0);
        return true;
    }

    private static bool Probe()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        try
        {
            _ = MallocTrim(0);
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [LibraryImport("libc.so.6", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}
