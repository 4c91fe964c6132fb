using System.Reflection;
using System.Runtime.CompilerServices;
using Prometheus;

namespace Fleet.Bench.Metrics;

/// <summary>
/// What the process already holds before the first memory mark, so that the resident-memory delta is what
/// the agent would pay on top of what it already has:
/// <list type="bullet">
/// <item><c>bare</c>: nothing (a console process): prometheus-net's delta includes its dependencies.</item>
/// <item><c>agent</c>: the framework assemblies prometheus-net needs that a running fleet-agent without
/// prometheus-net (an ASP.NET Core host with its gRPC link, before commit d43ac15) maps anyway, loaded in advance.</item>
/// <item><c>agent+prometheus-net</c>: that, plus prometheus-net already in use for other metrics (a
/// registry with DotNetStats, exported once), as fleet-agent has it since d43ac15 (Fleet.Hosting's
/// ProcessMetrics, appended to /metrics).</item>
/// </list>
/// The same preparation runs in every scenario of a context, so it cancels out of the B − A difference.
/// </summary>
internal static class ProcessContext
{
    public const string Bare = "bare";
    public const string Agent = "agent";
    public const string AgentWithPrometheusNet = "agent+prometheus-net";

    public static readonly string[] All = [Bare, Agent, AgentWithPrometheusNet];

    /// <summary>
    /// Assemblies prometheus-net 8 loads (measured: the setup's new assemblies in the bare context) that
    /// /proc/PID/maps of a running fleet-agent also lists (a build without prometheus-net, with an
    /// aggregator endpoint, PostgreSQL unreachable, after a few scrapes of /metrics). Not in that list, so
    /// left to prometheus-net's account: System.Diagnostics.TraceSource.
    /// </summary>
    private static readonly string[] AgentAssemblies =
    [
        "System.Collections.Concurrent",
        "System.IO.Pipelines",
        "System.Net.Http",
        "System.Text.Encoding.Extensions",
        "System.Text.RegularExpressions",
        "Microsoft.Extensions.ObjectPool",
    ];

    private static readonly List<object> Held = [];

    public static async Task PrepareAsync(string context)
    {
        if (context == Bare)
        {
            return;
        }

        foreach (var name in AgentAssemblies)
        {
            Held.Add(Assembly.Load(name));
        }

        if (context == AgentWithPrometheusNet)
        {
            await UsePrometheusNetAsync();
        }
    }

    /// <summary>
    /// A method of its own, not inlined: compiling <see cref="PrepareAsync"/> must not load prometheus-net's
    /// assembly in the other contexts (it would then be loaded before the first memory mark).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Task UsePrometheusNetAsync()
    {
        var registry = Prometheus.Metrics.NewCustomRegistry();
        DotNetStats.Register(registry);
        var factory = Prometheus.Metrics.WithCustomRegistry(registry);
        factory.CreateGauge("bench_other_gauge", "A metric of the host's own.", "label").WithLabels("a").Set(1);
        factory.CreateCounter("bench_other_total", "A metric of the host's own.", "label").WithLabels("a").IncTo(2);
        Held.Add(registry);
        return registry.CollectAndExportAsTextAsync(Stream.Null);
    }
}
