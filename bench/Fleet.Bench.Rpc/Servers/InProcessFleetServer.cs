using System.Diagnostics;
using Fleet.Bench.Rpc.Reporting;
using Fleet.Testing.Hosting;

namespace Fleet.Bench.Rpc.Servers;

/// <summary>The Grpc.AspNetCore EchoService on Kestrel inside the benchmark process (client and server share CPU time).</summary>
internal sealed class InProcessFleetServer(GrpcTestServer server) : IBenchServer
{
    public string Name => BenchOptions.FleetInProcess;

    public string Description => $"{GrpcStack.Server} EchoServiceImpl on Kestrel with Fleet's wiring (AddFleetGrpc, ListenGrpc) in the benchmark process (CPU column = client + server)";

    public Uri Address => server.Address;

    public Process? Process => null;

    public Task<TimeSpan?> GetJitTimeAsync() => Task.FromResult<TimeSpan?>(null);

    public static async Task<InProcessFleetServer> StartAsync() => new(await FleetEchoHost.StartAsync());

    public async ValueTask DisposeAsync()
    {
        FleetEchoHost.ReportErrors(server, Console.Error);
        await server.DisposeAsync();
    }
}
