using System.Buffers;
using System.Linq.Expressions;
using System.Reflection;
using Fleet.Protos.V1;

namespace Fleet.Bench.Metrics;

/// <summary>
/// The agent's /metrics rendering, reached from outside its assembly: AgentMetricsWriter, AgentFacts and
/// AgentIdentity are internal to fleet-agent (visible to Fleet.Agent.Tests only), and this bench must not
/// change the agent. Reflection is used once, to build the facts and to compile a direct call to
/// <c>AgentMetricsWriter.Write(IBufferWriter&lt;byte&gt;, NodeSnapshot?, AgentFacts)</c>; a scrape then costs
/// what the endpoint's call costs, plus one cast.
/// </summary>
internal sealed class AgentMetricsBridge
{
    private readonly Func<IBufferWriter<byte>, NodeSnapshot?, object, int> _write;

    private AgentMetricsBridge(Func<IBufferWriter<byte>, NodeSnapshot?, object, int> write, object facts)
    {
        _write = write;
        Facts = facts;
    }

    /// <summary>An AgentFacts instance (typed object: the type is internal).</summary>
    public object Facts { get; }

    /// <summary>
    /// Facts as a running agent reports them: identity, version, uptime, link up, runtime figures and a
    /// WAL archive verification, so that every fleet_agent_* and fleet_archive_* family renders. Built
    /// once: the endpoint reads them per scrape, which costs the same whichever library renders them.
    /// </summary>
    public static AgentMetricsBridge Create(ArchiveStatus archive)
    {
        var agent = typeof(Fleet.Agent.Configuration.AgentOptions).Assembly;
        var writerType = Required(agent.GetType("Fleet.Agent.Metrics.AgentMetricsWriter"), "Fleet.Agent.Metrics.AgentMetricsWriter");
        var factsType = Required(agent.GetType("Fleet.Agent.Metrics.AgentFacts"), "Fleet.Agent.Metrics.AgentFacts");
        var identityType = Required(agent.GetType("Fleet.Agent.Metrics.AgentIdentity"), "Fleet.Agent.Metrics.AgentIdentity");
        var runtimeType = Required(agent.GetType("Fleet.Agent.Metrics.AgentRuntimeFacts"), "Fleet.Agent.Metrics.AgentRuntimeFacts");

        var identity = Activator.CreateInstance(identityType, "orders-db-1", "orders", "kr-central", "kr-central-a")!;
        var runtime = Activator.CreateInstance(
            runtimeType, 48_000_000L, 6_500_000L, 9_000_000L, (IReadOnlyList<long>)[120L, 8L, 3L], 100L, 12L)!;
        var facts = Activator.CreateInstance(factsType)!;
        Set(facts, "Identity", identity);
        Set(facts, "AgentVersion", "0.3.0");
        Set(facts, "Uptime", TimeSpan.FromSeconds(86_400.25));
        Set(facts, "LinkConnected", (bool?)true);
        Set(facts, "LinkReconnects", 3UL);
        Set(facts, "CollectionCycles", 86_400UL);
        Set(facts, "CollectionFailures", 2UL);
        Set(facts, "LastCycleDuration", (TimeSpan?)TimeSpan.FromMilliseconds(42));
        Set(facts, "Runtime", runtime);
        Set(facts, "ArchiveStatus", archive);

        var method = Required(
            writerType.GetMethod("Write", BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static, [typeof(IBufferWriter<byte>), typeof(NodeSnapshot), factsType]),
            "AgentMetricsWriter.Write(IBufferWriter<byte>, NodeSnapshot?, AgentFacts)");
        var output = Expression.Parameter(typeof(IBufferWriter<byte>), "output");
        var snapshot = Expression.Parameter(typeof(NodeSnapshot), "snapshot");
        var factsParameter = Expression.Parameter(typeof(object), "facts");
        var call = Expression.Call(method, output, snapshot, Expression.Convert(factsParameter, factsType));
        var write = Expression.Lambda<Func<IBufferWriter<byte>, NodeSnapshot?, object, int>>(call, output, snapshot, factsParameter).Compile();
        return new AgentMetricsBridge(write, facts);
    }

    /// <summary>AgentMetricsWriter.Write: the exposition into <paramref name="output"/>; returns the series count.</summary>
    public int Write(IBufferWriter<byte> output, NodeSnapshot snapshot) => _write(output, snapshot, Facts);

    private static void Set(object target, string property, object? value)
    {
        var info = Required(target.GetType().GetProperty(property, BindingFlags.Public | BindingFlags.Instance), $"AgentFacts.{property}");
        info.SetValue(target, value);
    }

    private static T Required<T>(T? value, string what)
        where T : class =>
        value ?? throw new InvalidOperationException($"fleet-agent no longer has {what}: update bench/Fleet.Bench.Metrics/AgentMetricsBridge.cs.");
}
