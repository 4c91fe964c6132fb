using Fleet.Agent.Metrics;
using Fleet.LocalFleet.Postgres;
using Fleet.Protos.V1;
using Npgsql;

namespace Fleet.Agent.Tests.Collection;

/// <summary>
/// A real data page checksum failure (the test clusters run with data checksums): a table's page corrupted on
/// disk while the server is stopped, then read. The agent reports the failure count and time, and exports them;
/// the aggregator's checksum_failure rule judges that time (ThresholdRuleTests).
/// </summary>
public sealed class ChecksumFailureTests(LonePrimaryFixture fixture) : IClassFixture<LonePrimaryFixture>
{
    private static readonly TimeSpan ServerTimeout = TimeSpan.FromSeconds(90);

    private IPostgresNode Primary => fixture.Cluster.Primary;

    [Fact]
    public async Task CorruptedPageRead_CollectorReportsTheFailureCountAndTime_AndMetricsExportThem()
    {
        string file;
        await using (var connection = new NpgsqlConnection(Primary.ConnectionString))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand(
                "CREATE TABLE checksum_victim AS SELECT g AS id, repeat('x', 200) AS pad FROM generate_series(1, 500) g; SELECT pg_relation_filepath('checksum_victim')",
                connection);
            file = Path.Combine(Primary.DataDirectory, (string)(await create.ExecuteScalarAsync())!);
        }

        // Stopped with a checkpoint, so the page is on disk and not in shared buffers when it is read again.
        await Primary.StopAsync().WaitAsync(ServerTimeout);
        await using (var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.Position = 4096; // the middle of block 0: its checksum no longer matches
            stream.Write(Enumerable.Repeat((byte)0xA5, 64).ToArray());
        }

        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        await Primary.StartAsync().WaitAsync(ServerTimeout);
        await using (var connection = new NpgsqlConnection(Primary.ConnectionString))
        {
            await connection.OpenAsync();
            await using var read = new NpgsqlCommand("SELECT count(*) FROM checksum_victim", connection);
            var refused = await Assert.ThrowsAsync<PostgresException>(() => read.ExecuteScalarAsync());
            Assert.Equal(PostgresErrorCodes.DataCorrupted, refused.SqlState);
        }

        await using var collector = TestCollector.Create(Primary);
        NodeSnapshot.Types.Database? postgres = null;
        var deadline = DateTimeOffset.UtcNow.AddSeconds(15);
        while (postgres is not { ChecksumFailures: > 0 } && DateTimeOffset.UtcNow < deadline)
        {
            postgres = (await collector.CollectAsync()).Databases.Single(d => d.Name == "postgres");
        }

        Assert.NotNull(postgres);
        Assert.True(postgres.ChecksumFailures >= 1, $"checksum failures {postgres.ChecksumFailures}");
        Assert.NotNull(postgres.ChecksumLastFailure);
        Assert.InRange(postgres.ChecksumLastFailure.ToDateTimeOffset(), before, DateTimeOffset.UtcNow.AddSeconds(1));

        var exposition = AgentMetricsWriter.Render(new NodeSnapshot { PostgresState = PostgresState.Up, Databases = { postgres } },
            new AgentFacts { Identity = new AgentIdentity("n", "c", "r", "z"), AgentVersion = "test" });
        Assert.Contains($"fleet_pg_database_checksum_failures_total{{datname=\"postgres\"}} {postgres.ChecksumFailures}\n", exposition, StringComparison.Ordinal);
        Assert.Contains("fleet_pg_database_checksum_last_failure_timestamp_seconds{datname=\"postgres\"} ", exposition, StringComparison.Ordinal);
    }
}
