using System.Runtime;
using Fleet.Bench.Rpc.Servers;

namespace Fleet.Bench.Rpc.Measurement;

/// <summary>CPU used during a measured window by the benchmark process, the server process and everything else.</summary>
internal sealed class CpuWindow
{
    private readonly IBenchServer _server;
    private readonly CpuTime _client;
    private readonly CpuTime? _serverCpu;
    private readonly TimeSpan? _serverJit;
    private readonly MachineCpu? _machine;
    private readonly long _allocated;
    private readonly int[] _collections;
    private readonly TimeSpan _jit;

    private CpuWindow(IBenchServer server, TimeSpan? serverJit)
    {
        _server = server;
        _serverJit = serverJit;
        _machine = MachineCpu.Read();
        _serverCpu = server.Process is { } process ? CpuTime.Of(process) : null;
        _allocated = GC.GetTotalAllocatedBytes(precise: true);
        _collections = Collections();
        _jit = JitInfo.GetCompilationTime();
        _client = CpuTime.OfCurrentProcess();
    }

    public static async Task<CpuWindow> StartAsync(IBenchServer server) => new(server, await server.GetJitTimeAsync());

    public async Task<CpuUsage> StopAsync()
    {
        var client = CpuTime.OfCurrentProcess() - _client;
        var jit = JitInfo.GetCompilationTime() - _jit;
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - _allocated;
        var collections = Collections().Select((c, gen) => c - _collections[gen]).ToArray();
        var server = _server.Process is { } process ? CpuTime.Of(process) - _serverCpu!.Value : (CpuTime?)null;
        TimeSpan? other = null;
        TimeSpan? steal = null;
        if (_machine is { } before && MachineCpu.Read() is { } after)
        {
            var machine = after - before;
            var ours = client.Total + (server?.Total ?? TimeSpan.Zero);
            other = machine.Busy > ours ? machine.Busy - ours : TimeSpan.Zero;
            steal = machine.Steal;
        }

        var serverJit = _serverJit is { } start && await _server.GetJitTimeAsync() is { } end ? end - start : (TimeSpan?)null;
        return new CpuUsage(client, server, other, steal, allocated, collections, jit, serverJit);
    }

    private static int[] Collections() => [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
}

/// <summary>
/// CPU of one window. <see cref="OtherProcesses"/> is the machine's busy time (/proc/stat) minus both
/// processes' own time: other programs, plus kernel work (softirq) not charged to either process.
/// <see cref="ClientAllocatedBytes"/> and <see cref="ClientCollections"/> (gen 0, 1, 2) are the benchmark
/// process's managed allocations and garbage collections; the JIT times are time spent compiling methods
/// (still compiling in a measured window = not warm yet).
/// </summary>
internal sealed record CpuUsage(
    CpuTime Client,
    CpuTime? Server,
    TimeSpan? OtherProcesses,
    TimeSpan? Steal,
    long ClientAllocatedBytes,
    IReadOnlyList<int> ClientCollections,
    TimeSpan ClientJitTime,
    TimeSpan? ServerJitTime)
{
    public TimeSpan Ours => Client.Total + (Server?.Total ?? TimeSpan.Zero);
}
