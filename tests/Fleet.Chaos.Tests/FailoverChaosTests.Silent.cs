using Fleet.Aggregator.Failover;
using Fleet.Protos.V1;
using Fleet.Testing.Storage;
using Npgsql;

namespace Fleet.Chaos.Tests;

// Silent faults: nothing resets a connection, so nobody learns of the failure from an error (docs/failover.md,
// "Detection"). The primary's PostgreSQL is frozen with SIGSTOP, as a hypervisor pause or a stalled disk would.
public sealed partial class FailoverChaosTests
{
    [Fact]
    public async Task PrimaryPostgresFrozen_SynchronousMode_AgentKillsIt_FailsOverWithinSeconds_NoLoss_NoSplitBrain()
    {
        await using var scenario = await WritingScenario.StartAsync(synchronous: true, Output.WriteLine);
        var (chaos, writer, postgres) = (scenario.Chaos, scenario.Writer, scenario.Chaos.Fleet.Postgres);
        await writer.WaitForAcknowledgementsAsync("node0", 20);
        await AssertReplicationTimeoutsManagedAsync(scenario);

        var frozenAt = writer.Now;
        var frozen = postgres.Primary.Freeze();
        var first = await writer.WaitForWriteOnOtherNodeAsync("node0", TimeSpan.FromSeconds(30));
        await writer.WaitForAcknowledgementsAsync(first.Node, 20);
        var writableAfter = first.At - frozenAt;
        // The agent killed the frozen server (SIGKILL acts on stopped processes); thawing finds nothing left.
        Assert.False(postgres.Primary.IsRunning, "node0's agent should have killed its frozen PostgreSQL");
        postgres.Primary.Thaw();
        await writer.StopAsync();

        Output.WriteLine($"{frozen} processes of node0 frozen; writable again on {first.Node} {writableAfter.TotalMilliseconds:F0} ms later");
        Assert.Equal("node1", first.Node); // the synchronous standby
        Assert.Null(WriteHistory.FindSplitBrain(writer.Acknowledgements));
        await AssertNoAcknowledgedWriteMissingAsync(scenario, first.Node);
        // Failover timeout 3 s + the fast path; 60 s (wal_receiver_timeout) before detection was managed.
        Assert.True(writableAfter < TimeSpan.FromSeconds(10), $"writable again only {writableAfter.TotalSeconds:F1} s after the freeze");
        var cluster = await chaos.WaitUntilAsync(c => c.Summary.Primary == "node1", "node1 published as primary", TimeSpan.FromSeconds(10));
        Assert.Equal(1UL, cluster.Summary.Epoch);
        Assert.Contains(await chaos.WaitForEventAsync(IsPromotion, "the promotion's completion event", TimeSpan.FromSeconds(30)), IsPromotion);
    }

    [Fact]
    public async Task PrimaryWalStorageStalled_SynchronousMode_AgentKillsIt_FailsOver_NoLoss_NoSplitBrain()
    {
        // node0's WAL on its own ext4 volume, frozen with fsfreeze: PostgreSQL keeps answering the ping and
        // every read, while each commit waits for its WAL flush. Only the agent's storage probe can tell.
        using var walVolume = StallableFilesystem.Create();
        await using var scenario = await WritingScenario.StartAsync(
            new ChaosFleetOptions { Synchronous = true, PrimaryWalDirectory = Path.Combine(walVolume.MountPoint, "node0-wal") }, Output.WriteLine);
        var (chaos, writer, postgres) = (scenario.Chaos, scenario.Writer, scenario.Chaos.Fleet.Postgres);
        await writer.WaitForAcknowledgementsAsync("node0", 20);

        var stalledAt = writer.Now;
        walVolume.Freeze();
        Acknowledged first;
        try
        {
            first = await writer.WaitForWriteOnOtherNodeAsync("node0", TimeSpan.FromSeconds(30));
            await writer.WaitForAcknowledgementsAsync(first.Node, 20);
            Assert.False(postgres.Primary.IsRunning, "node0's agent should have killed the postmaster of its stalled PostgreSQL");
        }
        finally
        {
            walVolume.Thaw();
        }

        await writer.StopAsync();
        var writableAfter = first.At - stalledAt;
        Output.WriteLine($"node0's WAL volume frozen; writable again on {first.Node} {writableAfter.TotalMilliseconds:F0} ms later");
        Assert.Equal("node1", first.Node); // the synchronous standby
        Assert.Null(WriteHistory.FindSplitBrain(writer.Acknowledgements));
        await AssertNoAcknowledgedWriteMissingAsync(scenario, first.Node);
        // Storage stall timeout 5 s + the fast path.
        Assert.True(writableAfter < TimeSpan.FromSeconds(15), $"writable again only {writableAfter.TotalSeconds:F1} s after the stall");
        var cluster = await chaos.WaitUntilAsync(c => c.Summary.Primary == "node1", "node1 published as primary", TimeSpan.FromSeconds(10));
        Assert.Equal(1UL, cluster.Summary.Epoch);
        Assert.Contains(await chaos.WaitForEventAsync(IsPromotion, "the promotion's completion event", TimeSpan.FromSeconds(30)), IsPromotion);
    }

    [Fact]
    public async Task PrimaryPostgresFrozenShorterThanFailoverTimeout_NoFailover_WritesResumeOnTheSamePrimary()
    {
        await using var scenario = await WritingScenario.StartAsync(synchronous: false, Output.WriteLine);
        var (chaos, writer, postgres) = (scenario.Chaos, scenario.Writer, scenario.Chaos.Fleet.Postgres);
        await writer.WaitForAcknowledgementsAsync("node0", 20);

        // 2 s: below the 3 s failover timeout with room for the ping's 500 ms period; the agent reports
        // UNRESPONSIVE meanwhile, and its lease must hold.
        var defaults = new FailoverOptions();
        var freeze = TimeSpan.FromSeconds(2);
        var frozenAt = writer.Now;
        postgres.Primary.Freeze();
        var sawUnresponsive = false;
        while (writer.Now < frozenAt + freeze)
        {
            var cluster = await chaos.GetClusterAsync();
            sawUnresponsive |= cluster.Nodes.Single(n => n.Identity.Name == "node0").PostgresState == PostgresState.Unresponsive;
            await Task.Delay(100);
        }

        postgres.Primary.Thaw();
        var thawedAt = writer.Now;
        var until = thawedAt + defaults.FailoverTimeout + defaults.LeaseDuration + defaults.DriftMargin;
        while (writer.Now < until)
        {
            var cluster = await chaos.GetClusterAsync();
            Assert.Equal(0UL, cluster.Summary.Epoch);
            Assert.Equal("node0", cluster.Summary.Primary);
            await Task.Delay(250);
        }

        var before = writer.Acknowledgements.Count(a => a.Node == "node0");
        await writer.WaitForAcknowledgementsAsync("node0", before + 20);
        await writer.StopAsync();

        Output.WriteLine($"node0 frozen for {freeze.TotalSeconds:F0} s; reported unresponsive: {sawUnresponsive}; first write after the thaw " +
                         $"{(writer.Acknowledgements.First(a => a.StartedAt >= thawedAt).At - thawedAt).TotalMilliseconds:F0} ms later");
        Assert.True(sawUnresponsive, "node0's agent never reported its PostgreSQL unresponsive during the freeze");
        Assert.True(postgres.Primary.IsRunning);
        Assert.All(writer.Acknowledgements, a => Assert.Equal("node0", a.Node));
        var events = await chaos.EventsAsync();
        Assert.DoesNotContain(events, IsPromotion);
    }

    [Fact]
    public async Task PrimaryNodePartitionedSilently_SynchronousMode_FailsOverWithinSeconds_OldPrimarySelfFences_NoLoss_NoSplitBrain_ThenRejoins()
    {
        // node0's PostgreSQL is reached by everyone (replicas, writer) through one proxy and its agent reaches the
        // aggregator through another; both blackhole at once: the node is cut off, no RST anywhere. The agent
        // still reaches its own server directly, as on the same host.
        await using var scenario = await WritingScenario.StartAsync(new ChaosFleetOptions { Synchronous = true, ProxiedAgent = 0, ProxiedPostgres = 0 }, Output.WriteLine);
        var (chaos, writer, postgres) = (scenario.Chaos, scenario.Writer, scenario.Chaos.Fleet.Postgres);
        await writer.WaitForAcknowledgementsAsync("node0", 20);
        await chaos.WaitUntilReplicasStreamThroughPostgresProxyAsync(TimeSpan.FromSeconds(30));
        var streamingThroughProxy = chaos.PostgresProxy!.OpenConnections;

        var partitionedAt = writer.Now;
        chaos.Proxy!.Partition();
        chaos.PostgresProxy.Partition();
        var first = await writer.WaitForWriteOnOtherNodeAsync("node0", TimeSpan.FromSeconds(30));
        await writer.WaitForAcknowledgementsAsync(first.Node, 20);
        var writableAfter = first.At - partitionedAt;

        // Its lease expired and its replicas left pg_stat_replication (wal_sender_timeout): the agent stops it.
        var defaults = new FailoverOptions();
        var fenceDeadline = DateTime.UtcNow + defaults.LeaseDuration + defaults.ReplicationTimeout + TimeSpan.FromSeconds(5);
        while (postgres.Primary.IsRunning && DateTime.UtcNow < fenceDeadline)
        {
            await Task.Delay(100);
        }

        var selfFenced = !postgres.Primary.IsRunning;
        Output.WriteLine($"{streamingThroughProxy} connections through node0's proxy before the cut; writable again on {first.Node} " +
                         $"{writableAfter.TotalMilliseconds:F0} ms after the partition; node0 self-fenced: {selfFenced}");
        Assert.True(streamingThroughProxy >= 2, "the replicas should stream from node0 through its proxy (its advertised address)");
        Assert.Equal("node1", first.Node);
        Assert.True(selfFenced, "node0's agent did not stop its partitioned primary");
        Assert.Null(WriteHistory.FindSplitBrain(writer.Acknowledgements));
        Assert.True(writableAfter < TimeSpan.FromSeconds(10), $"writable again only {writableAfter.TotalSeconds:F1} s after the partition");

        // Heal: node0's agent reports again, fenced; the aggregator rejoins it to node1 (pg_rewind across addresses).
        chaos.Proxy.Heal();
        chaos.PostgresProxy.Heal();
        await chaos.WaitUntilAsync(c => c.Summary.Primary == "node1" && c.Topology.Any(e => e.Node == "node0" && e.Upstream == "node1" && e.Streaming),
            "the old primary node0 rejoined as a replica of node1", TimeSpan.FromSeconds(60));
        await writer.StopAsync();
        await AssertNoAcknowledgedWriteMissingAsync(scenario, "node1");
        static bool NotAskedToFence(Event e) => e.Kind == EventKind.FailoverDecision && e.Reasons.Any(r => r.Contains("not asked to fence", StringComparison.Ordinal));
        Assert.Contains(await chaos.WaitForEventAsync(NotAskedToFence, "the completed failover's event", TimeSpan.FromSeconds(30)), NotAskedToFence);
    }

    [Fact]
    public async Task PrimaryNodeLinksDegraded_200msLatency_1PercentStalls_NoFailover()
    {
        await using var scenario = await WritingScenario.StartAsync(new ChaosFleetOptions { ProxiedAgent = 0, ProxiedPostgres = 0 }, Output.WriteLine);
        var (chaos, writer, postgres) = (scenario.Chaos, scenario.Writer, scenario.Chaos.Fleet.Postgres);
        await writer.WaitForAcknowledgementsAsync("node0", 20);
        await chaos.WaitUntilReplicasStreamThroughPostgresProxyAsync(TimeSpan.FromSeconds(30));

        // Every link of node0 (replication, clients, its agent's link): ≥ 200 ms each way, and 1 % of chunks held
        // 600 ms more, as a lost segment's retransmission would be. Longer than failover timeout + lease + margin.
        var latency = TimeSpan.FromMilliseconds(200);
        chaos.Proxy!.Degrade(latency, 0.01, TimeSpan.FromMilliseconds(600));
        chaos.PostgresProxy!.Degrade(latency, 0.01, TimeSpan.FromMilliseconds(600));
        var defaults = new FailoverOptions();
        var degradedAt = writer.Now;
        var until = degradedAt + defaults.FailoverTimeout + defaults.LeaseDuration + defaults.DriftMargin + TimeSpan.FromSeconds(4);
        var worst = AgentPresence.Connected;
        while (writer.Now < until)
        {
            var cluster = await chaos.GetClusterAsync();
            Assert.Equal(0UL, cluster.Summary.Epoch);
            Assert.Equal("node0", cluster.Summary.Primary);
            var presence = cluster.Nodes.Single(n => n.Identity.Name == "node0").Presence;
            worst = presence != AgentPresence.Connected ? presence : worst;
            await Task.Delay(250);
        }

        var duringDegradation = writer.Acknowledgements.Count(a => a.At >= degradedAt);
        chaos.Proxy.Degrade(TimeSpan.Zero);
        chaos.PostgresProxy.Degrade(TimeSpan.Zero);
        var before = writer.Acknowledgements.Count(a => a.Node == "node0");
        await writer.WaitForAcknowledgementsAsync("node0", before + 20);
        await writer.StopAsync();

        Output.WriteLine($"degraded for {(until - degradedAt).TotalSeconds:F0} s: {duringDegradation} writes acknowledged meanwhile; node0's agent seen as {worst} at worst");
        Assert.All(writer.Acknowledgements, a => Assert.Equal("node0", a.Node));
        Assert.True(postgres.Primary.IsRunning, "node0 must not have fenced itself");
        var events = await chaos.EventsAsync();
        Assert.DoesNotContain(events, IsPromotion);
    }

    /// <summary>Every agent set the replication timeouts the aggregator's Welcome asked for (Failover:ReplicationTimeout, 2 s).</summary>
    private async Task AssertReplicationTimeoutsManagedAsync(WritingScenario scenario)
    {
        var wanted = (long)new FailoverOptions().ReplicationTimeout.TotalMilliseconds;
        foreach (var node in scenario.Chaos.Fleet.Postgres.Nodes)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            long receiver, sender;
            do
            {
                await using var connection = new NpgsqlConnection(node.ConnectionString);
                await connection.OpenAsync();
                await using var command = new NpgsqlCommand(
                    "SELECT (SELECT setting::bigint FROM pg_settings WHERE name = 'wal_receiver_timeout'), (SELECT setting::bigint FROM pg_settings WHERE name = 'wal_sender_timeout')",
                    connection);
                await using var reader = await command.ExecuteReaderAsync();
                await reader.ReadAsync();
                (receiver, sender) = (reader.GetInt64(0), reader.GetInt64(1));
                if (receiver == wanted && sender == wanted)
                {
                    break;
                }

                await Task.Delay(200);
            }
            while (DateTime.UtcNow < deadline);

            Output.WriteLine($"{node.Name}: wal_receiver_timeout {receiver} ms, wal_sender_timeout {sender} ms");
            Assert.Equal(wanted, receiver);
            Assert.Equal(wanted, sender);
        }
    }
}
