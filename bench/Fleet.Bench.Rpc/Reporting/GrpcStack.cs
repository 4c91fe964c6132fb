using System.Reflection;
using Grpc.AspNetCore.Server;
using Grpc.Net.Client;

namespace Fleet.Bench.Rpc.Reporting;

/// <summary>The gRPC stack under test, named with the versions of the package assemblies actually loaded.</summary>
internal static class GrpcStack
{
    /// <summary>"Grpc.AspNetCore 2.85.0": the server side (Grpc.AspNetCore.Server on Kestrel).</summary>
    public static string Server { get; } = $"Grpc.AspNetCore {PackageVersion(typeof(GrpcServiceOptions).Assembly)}";

    /// <summary>"Grpc.Net.Client 2.85.0": the client side (on SocketsHttpHandler).</summary>
    public static string Client { get; } = $"Grpc.Net.Client {PackageVersion(typeof(GrpcChannel).Assembly)}";

    public static string Both => $"{Server} + {Client}";

    /// <summary>The package version (the informational version without its +commit suffix).</summary>
    private static string PackageVersion(Assembly assembly) =>
        assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+', 2)[0]
        ?? assembly.GetName().Version?.ToString(3)
        ?? "(version unknown)";
}
