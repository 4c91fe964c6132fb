using System.Diagnostics;

namespace Fleet.Bench.Rpc.Servers;

/// <summary>An EchoService server the benchmark client talks to over loopback h2c.</summary>
internal interface IBenchServer : IAsyncDisposable
{
    /// <summary>Short name used in the tables: fleet, fleet-inproc, python.</summary>
    string Name { get; }

    /// <summary>One line for the report header.</summary>
    string Description { get; }

    Uri Address { get; }

    /// <summary>The server's own process, for its CPU time; null when it runs inside the benchmark process.</summary>
    Process? Process { get; }

    /// <summary>Time the server process has spent compiling methods; null when it cannot tell (python) or it is this process.</summary>
    Task<TimeSpan?> GetJitTimeAsync();
}
