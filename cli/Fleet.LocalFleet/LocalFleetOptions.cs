using Fleet.LocalFleet.Postgres;
namespace Fleet.LocalFleet;

/// <summary>Shape of the local fleet. Ports are fixed by default so the printed commands stay the same.</summary>
public sealed record LocalFleetOptions
{
    public string Region { get; init; } = "local";

    public string Cluster { get; init; } = "demo";

    public int Replicas { get; init; } = 2;

    /// <summary>synchronous_standby_names = FIRST 1 (node1, ...): no acknowledged commit is lost on failover.</summary>
    public bool Synchronous { get; init; }

    public int AggregatorGrpcPort { get; init; } = 7300;

    public int AggregatorHttpPort { get; init; } = 8080;

    /// <summary>Agent i serves AgentService on this port + i.</summary>
    public int AgentGrpcBasePort { get; init; } = 7400;

    /// <summary>Agent i serves /metrics and role checks on this port + i.</summary>
    public int AgentHttpBasePort { get; init; } = 8008;

    /// <summary>Where the aggregator keeps its SQLite store; a temporary directory when null.</summary>
    public string? DataDirectory { get; init; }

    /// <summary>Log level of the in-process agents and aggregator.</summary>
    public string LogLevel { get; init; } = "Warning";

    /// <summary>node0's WAL directory when it is to live outside its data directory (tests stall its filesystem).</summary>
    public string? PrimaryWalDirectory { get; init; }

    /// <summary>
    /// Per agent (by node index), the aggregator endpoint it dials instead of <c>AggregatorGrpc</c>; null (or a
    /// null result) keeps the aggregator's own address. Lets a test put a fault-injecting proxy between one
    /// agent and the aggregator.
    /// </summary>
    public Func<int, Uri?>? AgentAggregatorEndpoint { get; init; }

    /// <summary>
    /// Per agent (by node index, given its started PostgreSQL), the port it advertises to its peers
    /// (Replication:Port) instead of the server's own; null keeps the server's. Lets a test put a
    /// fault-injecting proxy in front of one node's PostgreSQL that every peer goes through.
    /// </summary>
    public Func<int, IPostgresNode, int?>? AgentReplicationPort { get; init; }

    /// <summary>Extra configuration for every agent (e.g. Collection:Interval).</summary>
    public IReadOnlyDictionary<string, string?> AgentSettings { get; init; } = new Dictionary<string, string?>();

    /// <summary>Extra configuration for the aggregator (e.g. Alerts:...).</summary>
    public IReadOnlyDictionary<string, string?> AggregatorSettings { get; init; } = new Dictionary<string, string?>();
}
