using Fleet.Agent.Actions;
using Fleet.Agent.Collection;
using Fleet.Agent.Configuration;
using Fleet.Agent.Tests.Collection;
using Fleet.LocalFleet.Postgres;
using Fleet.Protos.V1;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Fleet.Agent.Tests.Actions;

/// <summary>
/// A replica's agent reports a WAL receiver that stops or starts streaming at its next ping, not at its next
/// collection: the collection loop here never runs on its own, so every fresh snapshot came from the ping loop.
/// Real primary and replica; the primary is stopped and started again.
/// </summary>
public sealed class WalReceiverReportTests : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private LocalPostgresCluster? _cluster;

    private IPostgresCluster Cluster => _cluster!;

    public async Task InitializeAsync() =>
        _cluster = await LocalPostgresCluster.StartAsync(new PostgresClusterOptions { ReplicaCount = 1 }).WaitAsync(CollectionClusterFixture.StartTimeout);

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(60));
        }
    }

    [Fact]
    public async Task Probe_ReadsTheReceiverStatus_StreamingOnTheReplica_NoneOnThePrimary()
    {
        await using var replicaConnections = new PostgresConnectionFactory(TestCollector.OptionsFor(Cluster.Replicas[0]));
        await using var primaryConnections = new PostgresConnectionFactory(TestCollector.OptionsFor(Cluster.Primary));
        await using var onReplica = Probe(Cluster.Replicas[0], replicaConnections);
        await using var onPrimary = Probe(Cluster.Primary, primaryConnections);

        // The first ping opens the session over a fresh connection; the receiver is read from the second on.
        Assert.Equal(PingOutcome.Answered, await onReplica.PingAsync(TimeSpan.FromSeconds(5), CancellationToken.None));
        Assert.Null(onReplica.WalReceiverStatus);
        Assert.Equal(PingOutcome.Answered, await onReplica.PingAsync(TimeSpan.FromSeconds(5), CancellationToken.None));
        Assert.Equal("streaming", onReplica.WalReceiverStatus);

        Assert.Equal(PingOutcome.Answered, await onPrimary.PingAsync(TimeSpan.FromSeconds(5), CancellationToken.None));
        Assert.Equal(PingOutcome.Answered, await onPrimary.PingAsync(TimeSpan.FromSeconds(5), CancellationToken.None));
        Assert.Equal(string.Empty, onPrimary.WalReceiverStatus);
    }

    [Fact]
    public async Task PingLoop_ReceiverLostAndBack_PublishesAFreshSnapshotEachTime_WithoutTheCollectionLoop()
    {
        var replica = Cluster.Replicas[0];
        await using var collector = TestCollector.Create(replica);
        var board = new SnapshotBoard();
        var agentOptions = Options.Create(new AgentOptions { Postgres = TestCollector.OptionsFor(replica) });
        using var collection = new CollectionLoop(collector.Collector, board, agentOptions, TimeProvider.System, NullLogger<CollectionLoop>.Instance);
        await using var probe = new PostgresLivenessProbe(collector.Factory, agentOptions, TimeProvider.System);
        using var ping = new PostgresPingLoop(board, new Responsiveness(), probe, collection, TimeProvider.System, NullLogger<PostgresPingLoop>.Instance);

        var first = await collection.CollectNowAsync(CancellationToken.None).WaitAsync(Bound);
        Assert.Equal("streaming", first.Replica?.WalReceiver?.Status);
        await ping.StartAsync(CancellationToken.None);
        try
        {
            // The loop has seen the receiver streaming once it reads it over its session.
            await UntilAsync(() => probe.WalReceiverStatus == "streaming", "the ping loop never read the receiver streaming");
            var collectionsBefore = collector.Batches;

            await Cluster.Primary.StopAsync(PostgresStopMode.Fast).WaitAsync(Bound);
            var lost = await UntilPublishedAsync(board, s => s.Replica?.WalReceiver is not { Status: "streaming" }, "the lost receiver was never reported");
            Assert.Equal(PostgresState.Up, lost.PostgresState);
            Assert.Equal(NodeRole.Replica, lost.Role);
            Assert.True(collector.Batches > collectionsBefore, "no collection ran, yet a snapshot was published");

            await Cluster.Primary.StartAsync().WaitAsync(Bound);
            var back = await UntilPublishedAsync(board, s => s.Replica?.WalReceiver is { Status: "streaming" }, "the receiver streaming again was never reported");
            Assert.Equal(PostgresState.Up, back.PostgresState);
        }
        finally
        {
            await ping.StopAsync(CancellationToken.None).WaitAsync(Bound);
            if (!Cluster.Primary.IsRunning)
            {
                await Cluster.Primary.StartAsync().WaitAsync(Bound);
            }
        }
    }

    private static PostgresLivenessProbe Probe(IPostgresNode node, PostgresConnectionFactory connections) =>
        new(connections, Options.Create(new AgentOptions { Postgres = TestCollector.OptionsFor(node) }), TimeProvider.System);

    private static async Task UntilAsync(Func<bool> condition, string failure)
    {
        var deadline = DateTime.UtcNow + Bound;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, failure);
            await Task.Delay(50);
        }
    }

    private static async Task<NodeSnapshot> UntilPublishedAsync(SnapshotBoard board, Func<NodeSnapshot, bool> condition, string failure)
    {
        NodeSnapshot? found = null;
        await UntilAsync(() => board.Current is { } current && condition(current) && (found = current) is not null, failure);
        return found!;
    }
}
