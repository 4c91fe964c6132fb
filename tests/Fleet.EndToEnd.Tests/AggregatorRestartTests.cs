using Fleet.Aggregator;
using Fleet.EndToEnd.Tests.Infrastructure;
using Fleet.Protos.V1;
using Fleet.Testing;
using Google.Protobuf.WellKnownTypes;
using Microsoft.AspNetCore.Builder;
using Xunit.Abstractions;

namespace Fleet.EndToEnd.Tests;

/// <summary>
/// A fleet of its own whose aggregator keeps its SQLite store at a known path, so the test can replace
/// the aggregator with a new one on the same store and port. Agents back off to at most one second.
/// </summary>
public sealed class RestartFleetFixture : FleetFixture
{
    public static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(3);

    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("fleet-e2e-restart-").FullName;
    private WebApplication? _replacement;

    public string StorePath => Path.Combine(_dataDirectory, "store", "aggregator.db");

    protected override string? DataDirectory => _dataDirectory;

    protected override Dictionary<string, string?> AggregatorSettings() => new()
    {
        ["Store:Path"] = StorePath,
        ["Link:StaleAfter"] = "00:00:10",
    };

    protected override Dictionary<string, string?> AgentSettings() => new()
    {
        ["Aggregator:ReconnectMinDelay"] = "00:00:00.100",
        ["Aggregator:ReconnectMaxDelay"] = "00:00:01",
    };

    /// <summary>
    /// Stops the fleet's aggregator (its server ends, its store stays), then starts a new one on the
    /// same store and ports. The stop is given <see cref="StopGrace"/>, as an orchestrator gives a
    /// terminating process: the aggregator does not end its agents' link streams when it stops, so
    /// Kestrel's graceful stop waits for them until the grace runs out and then aborts the connections.
    /// </summary>
    public async Task<WebApplication> ReplaceAggregatorAsync(string instanceId)
    {
        using (var stop = new CancellationTokenSource(StopGrace))
        {
            await Fleet.Aggregator.StopAsync(stop.Token);
        }

        var settings = new Dictionary<string, string?>
        {
            ["Region"] = Options.Region,
            ["InstanceId"] = instanceId,
            ["Listen:Grpc"] = $"127.0.0.1:{Options.AggregatorGrpcPort}",
            ["Listen:Http"] = $"127.0.0.1:{Options.AggregatorHttpPort}",
            ["Logging:LogLevel:Default"] = Options.LogLevel,
        };
        foreach (var (key, value) in Options.AggregatorSettings)
        {
            settings[key] = value;
        }

        _replacement = AggregatorHost.Build(null, settings);
        AttachAggregatorLogs(_replacement);
        using var start = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _replacement.StartAsync(start.Token);
        ConnectClients();
        return _replacement;
    }

    public override async Task DisposeAsync()
    {
        if (_replacement is not null)
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                await _replacement.StopAsync(stop.Token);
            }
            finally
            {
                await _replacement.DisposeAsync();
            }
        }

        await base.DisposeAsync();
        Directory.Delete(_dataDirectory, recursive: true);
    }
}

/// <summary>A restarted aggregator keeps its history, and agents find it again on their own.</summary>
public sealed class AggregatorRestartTests(RestartFleetFixture fixture, ITestOutputHelper output) : IClassFixture<RestartFleetFixture>
{
    private const string RestartedId = "e2e-aggregator-restarted";

    [Fact]
    public async Task ListEvents_AggregatorRestartedOnSameStore_KeepsHistoryAndAgentsReconnect()
    {
        // History: every node appeared, and a foreign agent was refused.
        var refusal = await fixture.Link.ExchangeAsync(LinkProbe.Hello(FleetFixture.Cluster, "node7", region: "elsewhere")).DefaultTimeout();
        Assert.Equal(Grpc.Core.StatusCode.PermissionDenied, refusal.Status.StatusCode);
        var before = await Poll.UntilAsync(
            () => fixture.Api.ListEventsAsync(new ListEventsRequest { Limit = 1000 }),
            r => r.Events.Any(e => e.Kind == EventKind.AgentRejected && e.Node == "node7")
                && FleetFixture.NodeNames.All(n => r.Events.Any(e => e.Kind == EventKind.NodePresence && e.Node == n && e.Message.StartsWith("node appeared", StringComparison.Ordinal))),
            FleetFixture.ConditionTimeout,
            "the node appearances and the refusal to be stored",
            r => string.Join("; ", r.Events.Select(e => $"{e.Id} {e.Kind} {e.Node} {e.Message}")));
        Assert.True(File.Exists(fixture.StorePath), $"the store is at {fixture.StorePath}");

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var replacing = DateTimeOffset.UtcNow;
        await fixture.ReplaceAggregatorAsync(RestartedId).WaitAsync(TimeSpan.FromSeconds(60));
        var restartedAt = DateTimeOffset.UtcNow;
        output.WriteLine($"replaced in {clock.Elapsed}");

        // Every stored event is still there, with the same id and content.
        var after = await fixture.Api.ListEventsAsync(new ListEventsRequest { Limit = 1000 }).DefaultTimeout();
        foreach (var stored in before.Events)
        {
            Assert.Contains(stored, after.Events);
        }

        // Agents reconnect by themselves; the cluster is whole again with fresh reports.
        await fixture.WaitForReportsAfterAsync(restartedAt);
        output.WriteLine($"whole again after {clock.Elapsed}");
        for (var i = 0; i < FleetFixture.NodeNames.Length; i++)
        {
            using var agent = fixture.AgentClient(i);
            var status = await Poll.UntilAsync(
                agent.GetStatusAsync,
                s => s.Link.State == LinkState.Connected && s.Link.AggregatorId == RestartedId,
                FleetFixture.ConditionTimeout,
                $"agent {i} to be connected to {RestartedId}",
                s => $"{s.Link.State} to '{s.Link.AggregatorId}' ({s.Link.LastError})");
            Assert.True(status.Link.StateSince.ToDateTimeOffset() >= replacing, $"agent {i} connected at {status.Link.StateSince}, before the replacement started");
        }

        // The new aggregator sees every node appear again, and its history continues the old one:
        // higher ids, nothing overwritten.
        var newest = before.Events.Max(e => e.Id);
        var reappeared = await Poll.UntilAsync(
            () => fixture.Api.ListEventsAsync(new ListEventsRequest { Kind = EventKind.NodePresence, Since = Timestamp.FromDateTimeOffset(replacing) }),
            r => FleetFixture.NodeNames.All(n => r.Events.Any(e => e.Node == n && e.Message.StartsWith("node appeared", StringComparison.Ordinal))),
            FleetFixture.ConditionTimeout,
            "presence events from the new aggregator for every node");
        Assert.All(reappeared.Events, e => Assert.True(e.Id > newest, $"event {e.Id} ({e.Message}) reuses an id at or below {newest}"));
    }
}
