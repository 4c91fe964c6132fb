using System.Collections;
using System.Diagnostics;
using System.Reflection;
using System.Runtime;
using System.Runtime.InteropServices;
using Fleet.Hosting.Grpc;
using Fleet.Testing.Echo;

namespace Fleet.Bench.Rpc.Reporting;

/// <summary>Where and how a run happened: machine, runtime settings, load. Printed above the tables and stored in the JSON.</summary>
internal sealed record RunInfo
{
    public required DateTimeOffset StartedUtc { get; init; }

    public required int Cores { get; init; }

    public required string CpuModel { get; init; }

    public required string Os { get; init; }

    public required string Runtime { get; init; }

    /// <summary>
    /// Release when the benchmark and the repository's assemblies on the call path (Fleet.Hosting's gRPC wiring,
    /// Fleet.Testing's EchoServiceImpl) were compiled with optimizations; the Grpc packages are release builds.
    /// </summary>
    public required string Build { get; init; }

    /// <summary>The gRPC stack measured, e.g. "Grpc.AspNetCore 2.85.0 + Grpc.Net.Client 2.85.0".</summary>
    public required string Stack { get; init; }

    public required string Gc { get; init; }

    public required string Jit { get; init; }

    /// <summary>DOTNET_* variables in effect (they override the runtimeconfig, in both processes).</summary>
    public required IReadOnlyList<string> RuntimeEnvironment { get; init; }

    public required string CommandLine { get; init; }

    public static RunInfo Capture(IReadOnlyList<string> args) => new()
    {
        StartedUtc = DateTimeOffset.UtcNow,
        Cores = Environment.ProcessorCount,
        CpuModel = ReadCpuModel(),
        Os = RuntimeInformation.OSDescription,
        Runtime = RuntimeInformation.FrameworkDescription,
        Build = IsOptimized(typeof(RunInfo).Assembly) && IsOptimized(typeof(GrpcChannels).Assembly) && IsOptimized(typeof(EchoServiceImpl).Assembly)
            ? "Release"
            : "DEBUG (not optimized: figures are meaningless, use -c Release)",
        Stack = GrpcStack.Both,
        Gc = $"{(GCSettings.IsServerGC ? "server" : "workstation")}, {(AppContext.GetData("System.GC.Concurrent") is false ? "non-concurrent" : "concurrent")}",
        Jit = $"TieredCompilation {OnOff("System.Runtime.TieredCompilation")}, TieredPGO {OnOff("System.Runtime.TieredPGO")}, QuickJitForLoops {OnOff("System.Runtime.TieredCompilation.QuickJitForLoops")}",
        RuntimeEnvironment = Environment.GetEnvironmentVariables().Cast<DictionaryEntry>()
            .Select(e => $"{e.Key}={e.Value}")
            .Where(e => e.StartsWith("DOTNET_", StringComparison.Ordinal) && !e.StartsWith("DOTNET_CLI", StringComparison.Ordinal) && !e.StartsWith("DOTNET_ROOT", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToArray(),
        CommandLine = "Fleet.Bench.Rpc " + string.Join(' ', args),
    };

    private static string OnOff(string switchName) => AppContext.GetData(switchName) is false ? "off" : "on";

    private static bool IsOptimized(Assembly assembly) =>
        assembly.GetCustomAttribute<DebuggableAttribute>() is not { IsJITOptimizerDisabled: true };

    private static string ReadCpuModel()
    {
        try
        {
            return File.ReadLines("/proc/cpuinfo")
                .FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?
                .Split(':', 2)[1].Trim() ?? "unknown CPU";
        }
        catch (IOException)
        {
            return "unknown CPU";
        }
    }
}
