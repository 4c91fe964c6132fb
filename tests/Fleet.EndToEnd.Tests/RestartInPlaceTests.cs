using Fleet.EndToEnd.Tests.Infrastructure;
using Fleet.LocalFleet.Postgres;
using Fleet.Protos.V1;
using Npgsql;
using Xunit.Abstractions;
using LocalFleetHost = Fleet.LocalFleet.LocalFleet;

namespace Fleet.EndToEnd.Tests;

/// <summary>
/// A cluster with no replica has nothing to fail over to: when its postmaster dies, the primary's agent
/// restarts PostgreSQL in place (crash recovery) instead of declaring it down and fenced (docs/failover.md).
/// </summary>
public sealed class RestartInPlaceTests(ITestOutputHelper output)
{
    [Fact]
    public async Task PostmasterKill_NoReplica_AgentRestartsInPlace_WritableAgain_NoFailover()
    {
        var port = FreeTcpPort.PickConsecutive(4);
        await using var fleet = await LocalFleetHost.StartAsync(
            new LocalFleet.LocalFleetOptions
            {
                Cluster = "solo",
                Replicas = 0,
                AggregatorGrpcPort = port,
                AggregatorHttpPort = port + 1,
                AgentGrpcBasePort = port + 2,
                AgentHttpBasePort = port + 3,
            },
            output.WriteLine,
            CancellationToken.None).WaitAsync(FleetFixture.StartTimeout);
        using var api = new FleetServiceClient(fleet.AggregatorGrpc);
        var primary = fleet.Postgres.Primary;
        await InsertAsync(primary);

        // The agent acts on a crash only once the aggregator manages the primary (it holds a lease).
        using var agent = new AgentServiceClient(fleet.AgentGrpc(0));
        await Poll.UntilAsync(agent.GetStatusAsync, s => s.Lease is { Held: true }, FleetFixture.ConditionTimeout, "the primary's agent holding a lease");

        var killedAt = DateTimeOffset.UtcNow;
        var pid = primary.KillPostmaster();
        output.WriteLine($"killed postmaster {pid}");
        var back = await Poll.UntilAsync(async () =>
        {
            try
            {
                await InsertAsync(primary);
                return DateTimeOffset.UtcNow;
            }
            catch (NpgsqlException)
            {
                return (DateTimeOffset?)null;
            }
        }, at => at is not null, TimeSpan.FromSeconds(30), "a write accepted by node0 again");
        output.WriteLine($"writable again {(back!.Value - killedAt).TotalMilliseconds:F0} ms after the kill (first successful probe)");

        Assert.False(await primary.IsInRecoveryAsync());
        var status = await Poll.UntilAsync(agent.GetStatusAsync, s => s.Snapshot?.PostgresState == PostgresState.Up, FleetFixture.ConditionTimeout, "the agent reporting postgres up");
        Assert.False(status.Fenced);
        var cluster = await api.GetClusterAsync("solo");
        Assert.Equal(("node0", 0UL), (cluster.Summary.Primary, cluster.Summary.Epoch));
    }

    private static async Task InsertAsync(IPostgresNode node)
    {
        await using var connection = new NpgsqlConnection(node.ConnectionString + ";Timeout=2;Pooling=false");
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("CREATE TABLE IF NOT EXISTS restart_in_place (id serial PRIMARY KEY); INSERT INTO restart_in_place DEFAULT VALUES", connection);
        await command.ExecuteNonQueryAsync();
    }
}
