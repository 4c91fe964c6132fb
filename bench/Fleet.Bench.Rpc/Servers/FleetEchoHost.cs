using Fleet.Hosting.Grpc;
using Fleet.Testing.Echo;
using Fleet.Testing.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Fleet.Bench.Rpc.Servers;

/// <summary>How the benchmark hosts Fleet's EchoService, in this process or in the `serve` child.</summary>
internal static class FleetEchoHost
{
    /// <summary>
    /// GrpcTestServer.StartEchoAsync logs at Information, where ASP.NET Core writes two entries per request
    /// into an unbounded in-memory list; a benchmark keeps Warning and above only.
    /// </summary>
    public static Task<GrpcTestServer> StartAsync() =>
        GrpcTestServer.StartAsync(
            s => s.AddSingleton<EchoServiceImpl>(),
            e => e.MapFleetGrpcService<EchoServiceImpl>(EchoService.Descriptor),
            minimumLevel: LogLevel.Warning);

    public static void ReportErrors(GrpcTestServer server, TextWriter writer)
    {
        var errors = server.Logs.Errors.ToList();
        foreach (var error in errors.Take(5))
        {
            writer.WriteLine($"server logged: {error}");
        }

        if (errors.Count > 5)
        {
            writer.WriteLine($"server logged {errors.Count - 5} more errors");
        }
    }
}
