using System.Runtime.InteropServices;

namespace Fleet.Agent.Memory;

/// <summary>
/// glibc's allocator, as far as the agent steers it. The JIT allocates its working memory with malloc in
/// 64 KB blocks; glibc keeps freed blocks in the thread's arena for reuse, so each burst of compilation (a
/// slow refresh's code reaching a new tier) leaves up to ~15 MB free but resident. Blocks from the mmap
/// threshold up are mapped on their own and unmapped when freed, and malloc_trim hands back what is
/// free in every arena. Absent elsewhere (musl, other OSes): both are no-ops, found out once.
/// </summary>
internal static partial class NativeHeap
{
    /// <summary>glibc's mallopt parameter M_MMAP_THRESHOLD (malloc.h).</summary>
    private const int MmapThresholdParameter = -3;

    private static readonly Lazy<bool> Available = new(Probe);

    /// <summary>Allocations of at least <paramref name="bytes"/> get their own mapping; false when not glibc or refused.</summary>
    public static bool SetMmapThreshold(int bytes) => Available.Value && MallOpt(MmapThresholdParameter, bytes) == 1;

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

    [LibraryImport("libc.so.6", EntryPoint = "mallopt")]
    private static partial int MallOpt(int parameter, int value);
}
