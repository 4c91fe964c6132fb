using Fleet.Testing;
using Fleet.Hosting.Grpc;
using System.Net;
using Fleet.Chaos.Faults;
using Fleet.LocalFleet;
using Fleet.LocalFleet.Postgres;
using Fleet.Protos.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Fleet.Chaos;

/// <summary>How a <see cref="ChaosFleet"/> is set up. Everything not listed is Fleet's default.</summary>
public sealed record ChaosFleetOptions
{
    /// <summary>synchronous_standby_names = FIRST 1 (node1, node2).</summary>
    public bool Synchronous { get; init; }

    /// <summary>Node index whose agent dials the aggregator through a <see cref="TcpFaultProxy"/> (<see cref="ChaosFleet.Proxy"/>); null for none.</summary>
    public int? ProxiedAgent { get; init; }

    /// <summary>
    /// Node index whose PostgreSQL every peer and the writer reach through a <see cref="TcpFaultProxy"/>
    /// (<see cref="ChaosFleet.PostgresProxy"/>; its agent advertises the proxy as Replication:Port, and
    /// connects to its own server directly, as a sidecar would); null for none.
    /// </summary>
    public int? ProxiedPostgres { get; init; }

    /// <summary>Log level of the in-process agents and aggregator (they log to the console).</summary>
    public string LogLevel { get; init; } = "Warning";

    /// <summary>node0's WAL outside its data directory (initdb --waldir), e.g. on a filesystem the test stalls.</summary>
    public string? PrimaryWalDirectory { get; init; }

    /// <summary>Extra aggregator configuration (none by default: the benchmark measures the defaults).</summary>
    public IReadOnlyDictionary<string, string?> AggregatorSettings { get; init; } = new Dictionary<string, string?>();

    /// <summary>Extra configuration for every agent (e.g. a second aggregator endpoint).</summary>
    public IReadOnlyDictionary<string, string?> AgentSettings { get; init; } = new Dictionary<string, string?>();
}

/// <summary>A local fleet (primary node0, replicas node1 and node2) on free ports for one chaos scenario, with a FleetService client.</summary>
public sealed class ChaosFleet : IAsyncDisposable
{
    public const string ClusterName = "chaos";

    private const int MaxStartAttempts = 3;

    private ChaosFleet(LocalFleet.LocalFleet fleet, TcpFaultProxy? proxy, TcpFaultProxy? postgresProxy, int? proxiedPostgres)
    {
        Fleet = fleet;
        Proxy = proxy;
        PostgresProxy = postgresProxy;
        _proxiedPostgres = proxiedPostgres;
        Channel = GrpcChannels.ForAddress(fleet.AggregatorGrpc);
        _probe = new ClusterProbe(Channel, ClusterName);
    }

    public LocalFleet.LocalFleet Fleet { get; }

    /// <summary>The proxy between <see cref="ChaosFleetOptions.ProxiedAgent"/>'s agent and the aggregator, if any.</summary>
    public TcpFaultProxy? Proxy { get; }

    /// <summary>The proxy in front of <see cref="ChaosFleetOptions.ProxiedPostgres"/>'s PostgreSQL, if any.</summary>
    public TcpFaultProxy? PostgresProxy { get; }

    private readonly int? _proxiedPostgres;
    private readonly ClusterProbe _probe;

    /// <summary>How a client reaches node <paramref name="index"/>'s PostgreSQL: through the proxy for the proxied node.</summary>
    public string ClientConnectionString(int index)
    {
        var node = Fleet.Postgres.Nodes[index];
        return index == _proxiedPostgres && PostgresProxy is { } proxy
            ? new Npgsql.NpgsqlConnectionStringBuilder(node.ConnectionString) { Port = proxy.EndPoint.Port }.ConnectionString
            : node.ConnectionString;
    }

    public GrpcChannel Channel { get; }

    public static Task<ChaosFleet> StartAsync(bool synchronous, Action<string> log) =>
        StartAsync(new ChaosFleetOptions { Synchronous = synchronous }, log);

    public static async Task<ChaosFleet> StartAsync(ChaosFleetOptions chaosOptions, Action<string> log)
    {
        ArgumentNullException.ThrowIfNull(chaosOptions);
        EnsureThreads();
        ArgumentNullException.ThrowIfNull(log);
        // Free ports are checked, then bound a moment later: on a busy machine something else can take one in
        // between. Such a start is retried on other ports (a few times, each a fresh fleet).
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await TryStartAsync(chaosOptions, log);
            }
            catch (Exception ex) when (attempt < MaxStartAttempts && PortConflicts.IsAddressInUse(ex))
            {
                log($"a port was taken while the fleet started ({ex.Message}); retrying on other ports");
            }
        }
    }

    private static async Task<ChaosFleet> TryStartAsync(ChaosFleetOptions chaosOptions, Action<string> log)
    {
        // Aggregator gRPC + HTTP, 3 agents × (gRPC + HTTP), and one for each proxy.
        var ports = FreeTcpPort.PickConsecutive(2 + (2 * 3) + 2);
        var proxied = chaosOptions.ProxiedAgent;
        var proxy = proxied is null ? null : TcpFaultProxy.Start(new IPEndPoint(IPAddress.Loopback, ports), listenPort: ports + 8);
        TcpFaultProxy? postgresProxy = null;
        var proxiedPostgres = chaosOptions.ProxiedPostgres;
        var options = new LocalFleetOptions
        {
            Cluster = ClusterName,
            Replicas = 2,
            Synchronous = chaosOptions.Synchronous,
            AggregatorGrpcPort = ports,
            AggregatorHttpPort = ports + 1,
            AgentGrpcBasePort = ports + 2,
            AgentHttpBasePort = ports + 5,
            AgentAggregatorEndpoint = proxy is null ? null : index => index == proxied ? proxy.HttpUri : null,
            // Started once the node's server is up (its port is known then), before its agent.
            AgentReplicationPort = (index, node) => index == proxiedPostgres
                ? (postgresProxy ??= TcpFaultProxy.Start(new IPEndPoint(IPAddress.Loopback, node.Port), listenPort: ports + 9, maxConnections: 512)).EndPoint.Port
                : null,
            AggregatorSettings = chaosOptions.AggregatorSettings,
            AgentSettings = chaosOptions.AgentSettings,
            LogLevel = chaosOptions.LogLevel,
            PrimaryWalDirectory = chaosOptions.PrimaryWalDirectory,
        };
        try
        {
            var fleet = await LocalFleet.LocalFleet.StartAsync(options, log, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(2));
            return new ChaosFleet(fleet, proxy, postgresProxy, proxiedPostgres);
        }
        catch
        {
            if (proxy is not null)
            {
                await proxy.DisposeAsync();
            }

            if (postgresProxy is not null)
            {
                await postgresProxy.DisposeAsync();
            }

            throw;
        }
    }

    /// <summary>
    /// This one process plays several machines (an aggregator, three agents, the proxies, the writer). A thread
    /// blocked in one of them (a client library's synchronous cancel, a blocking call) must not stall the others
    /// while the thread pool slowly adds threads: with 2 cores it starts with 2, and a 2 s stall of everything
    /// looks exactly like a partition to the failover logic under test.
    /// </summary>
    public static void EnsureThreads()
    {
        ThreadPool.GetMinThreads(out var workers, out var io);
        if (workers < MinWorkerThreads)
        {
            ThreadPool.SetMinThreads(MinWorkerThreads, io);
        }
    }

    private const int MinWorkerThreads = 64;

    public Task<Cluster> GetClusterAsync() => _probe.GetClusterAsync();

    public async Task<RoleChangeResponse> SwitchoverAsync(string candidate, string operatorName, string reason)
    {
        var request = new SwitchoverRequest { Cluster = ClusterName, Candidate = candidate, Operator = new OperatorContext { Operator = operatorName, Reason = reason } };
        return await new FleetService.FleetServiceClient(Channel).SwitchoverAsync(request, new CallOptions(deadline: DateTime.UtcNow + TimeSpan.FromSeconds(60))).ResponseAsync;
    }

    /// <summary>The cluster, or null while the aggregator has not heard of it yet (NOT_FOUND) or is not reachable (restarting).</summary>
    public Task<Cluster?> TryGetClusterAsync() => _probe.TryGetClusterAsync();

    public Task<IReadOnlyList<Event>> EventsAsync() => _probe.EventsAsync();

    /// <inheritdoc cref="ClusterProbe.WaitForEventAsync"/>
    public Task<IReadOnlyList<Event>> WaitForEventAsync(Func<Event, bool> match, string what, TimeSpan timeout) => _probe.WaitForEventAsync(match, what, timeout);

    /// <summary>Waits until every node reports and node0 is the primary with two streaming replicas.</summary>
    public Task WaitUntilSteadyAsync(TimeSpan timeout) =>
        WaitUntilAsync(c => c.Summary.Primary == "node0" && c.Summary.StreamingReplicaCount == 2 && c.Nodes.All(n => n.Presence == AgentPresence.Connected),
            "the fleet reaches primary node0 with two streaming replicas, every agent connected", timeout);

    /// <inheritdoc cref="ClusterProbe.WaitUntilAsync"/>
    public Task<Cluster> WaitUntilAsync(Func<Cluster, bool> condition, string what, TimeSpan timeout, TimeSpan? interval = null) =>
        _probe.WaitUntilAsync(condition, what, timeout, interval);

    /// <summary>
    /// Waits until every replica streams through <see cref="PostgresProxy"/> (proved on its upstream): they were
    /// cloned from the proxied node's own port, and the aggregator repoints them to its advertised address.
    /// </summary>
    public async Task WaitUntilReplicasStreamThroughPostgresProxyAsync(TimeSpan timeout)
    {
        var proxyPort = (PostgresProxy ?? throw new InvalidOperationException("no PostgreSQL proxy in this fleet")).EndPoint.Port;
        var deadline = DateTime.UtcNow + timeout;
        var postgres = Fleet.Postgres;
        foreach (var replica in postgres.Replicas)
        {
            PostgresProbe.Recovery? state;
            while ((state = await PostgresProbe.TryRecoveryAsync(replica.ConnectionString, replica.Name, postgres.Primary.ConnectionString)) is not { } s || !s.StreamsFrom(proxyPort))
            {
                if (DateTime.UtcNow >= deadline)
                {
                    throw new TimeoutException($"{replica.Name} does not stream through the proxy on port {proxyPort} within {timeout.TotalSeconds:F0} s: {state}");
                }

                await Task.Delay(100);
            }
        }
    }

    public Task<Cluster> WaitForPrimaryAsync(string node, TimeSpan timeout) =>
        WaitUntilAsync(c => c.Summary.Primary == node, $"{node} is the published primary", timeout);

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await Fleet.DisposeAsync();
        if (Proxy is not null)
        {
            await Proxy.DisposeAsync();
        }

        if (PostgresProxy is not null)
        {
            await PostgresProxy.DisposeAsync();
        }
    }
}
