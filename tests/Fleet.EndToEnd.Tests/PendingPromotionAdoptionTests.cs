using Fleet.EndToEnd.Tests.Infrastructure;
using Fleet.Protos.V1;
using Microsoft.Data.Sqlite;

namespace Fleet.EndToEnd.Tests;

/// <summary>A fleet of its own whose aggregator store lives at a known path, so the test can shape what a restart finds.</summary>
public sealed class AdoptionFleetFixture : FleetFixture
{
    private readonly string _directory = Directory.CreateTempSubdirectory("fleet-e2e-adopt-").FullName;

    public string StorePath => Path.Combine(_directory, "aggregator.db");

    protected override Dictionary<string, string?> AggregatorSettings() => new() { ["Store:Path"] = StorePath };

    protected override Dictionary<string, string?> AgentSettings() => new()
    {
        ["Aggregator:ReconnectMinDelay"] = "00:00:00.100",
        ["Aggregator:ReconnectMaxDelay"] = "00:00:01",
    };

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }
}

/// <summary>
/// The aggregator stopped after storing a pending promotion; the candidate was promoted while it was away
/// (the Promote it sent landed). The restarted aggregator must adopt that primary from the candidate's own
/// report and publish it — not promote anyone else (docs/failover.md, rule 4) — and repoint the other
/// replica, whose agent was away at that moment, when it comes back.
/// </summary>
public sealed class PendingPromotionAdoptionTests(AdoptionFleetFixture fixture) : IClassFixture<AdoptionFleetFixture>
{
    [Fact]
    public async Task RestartedAggregator_CandidatePromotedWhileAway_IsAdoptedAndFollowed()
    {
        var fleet = fixture.Fleet;
        await fleet.StopAggregatorAsync();

        // What an aggregator stopped right after step 1 of a failover leaves: epoch 1, node1 pending.
        await using (var store = new SqliteConnection($"Data Source={fixture.StorePath};Pooling=False"))
        {
            await store.OpenAsync();
            await using var command = store.CreateCommand();
            command.CommandText = """
                INSERT INTO epochs (cluster, epoch, updated_ms) VALUES ($c, 1, 0) ON CONFLICT (cluster) DO UPDATE SET epoch = 1;
                INSERT INTO cluster_primaries (cluster, primary_node, epoch, pending_candidate, pending_epoch, former_primary, updated_ms)
                VALUES ($c, 'node0', 1, 'node1', 1, NULL, 0)
                ON CONFLICT (cluster) DO UPDATE SET primary_node = 'node0', epoch = 1, pending_candidate = 'node1', pending_epoch = 1;
                """;
            command.Parameters.AddWithValue("$c", FleetFixture.Cluster);
            await command.ExecuteNonQueryAsync();
        }

        // The old primary dies; the Promote "that was in flight" lands on node1 under epoch 1.
        await fleet.Agents[0].StopAsync();
        fleet.Postgres.Primary.KillPostmaster();
        using var node1 = fixture.AgentClient(1);
        var promoted = await node1.PromoteAsync(1, "the aggregator's promote, landing while it was away");
        Assert.True(promoted.Success, promoted.Message);

        // node2's agent is away while the adoption happens, so it misses the Follow that goes with it.
        await fleet.Agents[2].StopAsync();
        await fleet.StartAggregatorAsync();
        // The adoption itself, not the summary: with node0's agent gone the summary shows the node reporting
        // itself primary (node1) before the aggregator has adopted it, and node2 must come back only after.
        await Poll.UntilAsync(() => fixture.Api.ListEventsAsync(new ListEventsRequest { Cluster = FleetFixture.Cluster, Limit = 100 }),
            events => events.Events.Any(e => e.Kind == EventKind.FailoverDecision && e.Message.StartsWith("node1 adopted as primary (epoch 1", StringComparison.Ordinal)),
            FleetFixture.ConditionTimeout, "node1 adopted as primary");
        Assert.Equal("node1", (await fixture.Api.GetClusterAsync(FleetFixture.Cluster)).Summary.Primary);

        // When it returns, its replica still points at the dead node0: the aggregator repoints it.
        await fleet.StartAgentAsync(2);
        var cluster = await Poll.UntilAsync(() => fixture.Api.GetClusterAsync(FleetFixture.Cluster),
            c => c.Topology.Any(e => e.Node == "node2" && e.Upstream == "node1" && e.Streaming),
            FleetFixture.ConditionTimeout, "node2 streaming from node1", c => $"{c.Summary} {c.Topology}");

        Assert.Equal(1UL, cluster.Summary.Epoch); // adopted under the pending epoch: nobody promoted again
        var events = await fixture.Api.ListEventsAsync(new ListEventsRequest { Cluster = FleetFixture.Cluster, Limit = 100 });
        Assert.Contains(events.Events, e => e.Kind == EventKind.FailoverDecision && e.Message.StartsWith("node1 adopted as primary (epoch 1", StringComparison.Ordinal));
        Assert.DoesNotContain(events.Events, e => e.Message.Contains("promoted (epoch", StringComparison.Ordinal));
        Assert.Contains(events.Events, e => e.Node == "node2" && e.Message.StartsWith("repointed to node1", StringComparison.Ordinal));
        Assert.False(await fleet.Postgres.Nodes[1].IsInRecoveryAsync());
    }
}
