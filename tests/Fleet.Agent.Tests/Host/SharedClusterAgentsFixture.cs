using Fleet.Protos.V1;
using Fleet.LocalFleet.Postgres;

namespace Fleet.Agent.Tests.Host;

/// <summary>
/// One primary ("node0") with one streaming replica ("node1"), and a standalone agent (no aggregator
/// endpoint) for each, started once for every test class of <see cref="SharedClusterAgentsGroup"/>.
/// The tests only read: none stops, promotes or reconfigures anything.
/// </summary>
public sealed class SharedClusterAgentsFixture : IAsyncLifetime
{
    public static readonly TimeSpan ClusterStartTimeout = TimeSpan.FromSeconds(120);

    /// <summary>Until an agent's first snapshots say what they should (a replica also needs its WAL receiver streaming).</summary>
    public static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(45);

    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(500);

    private LocalPostgresCluster? _cluster;
    private RunningAgent? _primary;
    private RunningAgent? _replica;

    public IPostgresCluster Cluster => _cluster ?? throw new InvalidOperationException("The cluster is not started.");

    /// <summary>The agent of node0, tagged no_failover=false, candidate_priority=100 (defaults), zone "zone-a".</summary>
    internal RunningAgent PrimaryAgent => _primary ?? throw new InvalidOperationException("The agents are not started.");

    /// <summary>The agent of node1, tagged no_failover=true, candidate_priority=250, zone "zone-b".</summary>
    internal RunningAgent ReplicaAgent => _replica ?? throw new InvalidOperationException("The agents are not started.");

    public async Task InitializeAsync()
    {
        _cluster = await LocalPostgresCluster
            .StartAsync(new PostgresClusterOptions { ReplicaCount = 1, ArchiveEnabled = false })
            .WaitAsync(ClusterStartTimeout);

        var primarySettings = RunningAgent.SettingsFor(_cluster.Primary, Interval);
        primarySettings["Node:Zone"] = "zone-a";
        _primary = await RunningAgent.StartAsync(primarySettings);

        var replicaSettings = RunningAgent.SettingsFor(_cluster.Replicas[0], Interval);
        replicaSettings["Node:Zone"] = "zone-b";
        replicaSettings["Node:NoFailover"] = "true";
        replicaSettings["Node:CandidatePriority"] = "250";
        _replica = await RunningAgent.StartAsync(replicaSettings);

        await _primary.WaitForStatusAsync(
            s => s.Snapshot is { PostgresState: PostgresState.Up, Role: NodeRole.Primary }, ReadyTimeout, "node0's agent to see an up primary");
        await _replica.WaitForStatusAsync(
            s => s.Snapshot is { PostgresState: PostgresState.Up, Role: NodeRole.Replica, Replica.WalReceiver.Status: "streaming" },
            ReadyTimeout,
            "node1's agent to see a streaming replica");
    }

    public async Task DisposeAsync()
    {
        if (_replica is not null)
        {
            await _replica.DisposeAsync();
        }

        if (_primary is not null)
        {
            await _primary.DisposeAsync();
        }

        if (_cluster is not null)
        {
            await _cluster.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(60));
        }
    }
}

/// <summary>The test classes that share <see cref="SharedClusterAgentsFixture"/> (they run one after another).</summary>
[CollectionDefinition(Name)]
public sealed class SharedClusterAgentsGroup : ICollectionFixture<SharedClusterAgentsFixture>
{
    public const string Name = "Agents: shared primary and replica";
}
