using System.Text.RegularExpressions;
using Fleet.Protos.V1;
using Fleet.LocalFleet.Postgres;

namespace Fleet.Agent.Tests.Host;

/// <summary>A lone primary of its own, which the test stops and starts again under a running agent.</summary>
public sealed class OutageClusterFixture : IAsyncLifetime
{
    private LocalPostgresCluster? _cluster;

    public IPostgresCluster Cluster => _cluster ?? throw new InvalidOperationException("The cluster is not started.");

    public async Task InitializeAsync() => _cluster = await LocalPostgresCluster
        .StartAsync(new PostgresClusterOptions { ReplicaCount = 0, ArchiveEnabled = false })
        .WaitAsync(SharedClusterAgentsFixture.ClusterStartTimeout);

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(60));
        }
    }
}

/// <summary>
/// PostgreSQL stops under a running agent: the agent says so everywhere it can (GetStatus, role checks,
/// /metrics), keeps serving all of them, and recovers on its own when PostgreSQL returns.
/// </summary>
public sealed partial class PostgresOutageTests(OutageClusterFixture fixture) : IClassFixture<OutageClusterFixture>
{
    private static readonly TimeSpan ServerTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan StateTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task PostgresStoppedThenStarted_AgentReportsDownKeepsServingAndRecovers()
    {
        var primary = fixture.Cluster.Primary;
        var settings = RunningAgent.SettingsFor(primary, TimeSpan.FromMilliseconds(250));
        // Without Postgres:DataDirectory: with it, a clean stop is mistaken for a dead postmaster (see the skipped test below).
        settings.Remove("Postgres:DataDirectory");
        await using var agent = await RunningAgent.StartAsync(settings);
        await agent.WaitForStatusAsync(s => s.PostgresState == PostgresState.Up, StateTimeout, "postgres up");
        Assert.Equal(200, (await agent.GetAsync("/health")).Status);
        Assert.Equal("1", PgUp(await agent.GetAsync("/metrics")));

        try
        {
            await primary.StopAsync().WaitAsync(ServerTimeout);

            // A cycle that runs while the server shuts down sees "connection to PostgreSQL was closed"; once it is
            // stopped every cycle sees the refusal, which is the state the rest of this test is about.
            var down = await agent.WaitForStatusAsync(
                s => s.PostgresState == PostgresState.Down && s.Snapshot.PostgresError == "connection refused", StateTimeout, "postgres down, connection refused");
            Assert.Equal(PostgresState.Down, down.Snapshot.PostgresState);
            Assert.Equal("connection refused", down.Snapshot.PostgresError);
            Assert.Equal(NodeRole.Unknown, down.Role);
            Assert.Equal("node0", down.Identity.Name);

            // Everything the agent serves keeps answering, and says Postgres is down.
            var health = await agent.GetAsync("/health");
            Assert.Equal(503, health.Status);
            Assert.Contains("postgres is down: connection refused", health.Body, StringComparison.Ordinal);
            Assert.Equal(503, (await agent.HttpAsync(HttpMethod.Options, "/primary")).Status);
            Assert.Equal(503, (await agent.GetAsync("/read-only")).Status);
            var metrics = await agent.GetAsync("/metrics");
            Assert.Equal(200, metrics.Status);
            Assert.Equal("0", PgUp(metrics));
            var collected = await agent.Client.CollectNowAsync();
            Assert.Equal(PostgresState.Down, collected.Snapshot.PostgresState);
            Assert.True(collected.Snapshot.CollectedAt.ToDateTimeOffset() >= down.Snapshot.CollectedAt.ToDateTimeOffset());
        }
        finally
        {
            await primary.StartAsync().WaitAsync(ServerTimeout);
        }

        var up = await agent.WaitForStatusAsync(s => s.PostgresState == PostgresState.Up, StateTimeout, "postgres up again");
        Assert.Equal(NodeRole.Primary, up.Role);
        Assert.Equal("", up.Snapshot.PostgresError);
        await Eventually.ReturnsAsync(() => agent.GetAsync("/health"), r => r.Status == 200, StateTimeout, "/health 200 again");
        Assert.Equal(200, (await agent.GetAsync("/primary")).Status);
        Assert.False((await agent.GetStatusAsync()).Fenced);
        Assert.Equal("1", PgUp(await agent.GetAsync("/metrics")));
        // Down (or stopping) and up again are state changes logged as warning and information, not errors.
        Assert.Contains(agent.Logs.Entries, e => e.EventId.Id == 3002);
        Assert.Empty(agent.Logs.Errors);
    }

    [Fact]
    public async Task PrimaryStoppedCleanlyAndStarted_WithDataDirectory_ServesAsPrimaryAgain()
    {
        var primary = fixture.Cluster.Primary;
        await using var agent = await RunningAgent.StartAsync(RunningAgent.SettingsFor(primary, TimeSpan.FromSeconds(1)));
        await agent.WaitForStatusAsync(s => s.PostgresState == PostgresState.Up, StateTimeout, "postgres up");

        try
        {
            await primary.StopAsync().WaitAsync(ServerTimeout);
            await agent.WaitForStatusAsync(s => s.PostgresState == PostgresState.Down, StateTimeout, "postgres down");
        }
        finally
        {
            await primary.StartAsync().WaitAsync(ServerTimeout);
        }

        await Eventually.ReturnsAsync(() => agent.GetAsync("/primary"), r => r.Status == 200, StateTimeout, "/primary 200 again");
        var status = await agent.GetStatusAsync();
        Assert.False(status.Fenced);
        Assert.True(primary.IsRunning, "the agent stopped PostgreSQL again");
    }

    private static string PgUp((int Status, string Body) metrics)
    {
        Assert.Equal(200, metrics.Status);
        var match = PgUpLine().Match(metrics.Body);
        Assert.True(match.Success, "no fleet_pg_up sample in /metrics");
        return match.Groups[1].Value;
    }

    [GeneratedRegex(@"^fleet_pg_up(?:\{[^}]*\})? (\S+)$", RegexOptions.Multiline)]
    private static partial Regex PgUpLine();
}
