using Fleet.Aggregator;
using Fleet.LocalFleet.Postgres;
using Fleet.EndToEnd.Tests.Infrastructure;
using Fleet.Protos.V1;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Npgsql;

namespace Fleet.EndToEnd.Tests;

/// <summary>A fleet of its own with automatic failover off: the operator decides every change of primary here.</summary>
public sealed class ManualFailoverFixture : FleetFixture
{
    protected override Dictionary<string, string?> AggregatorSettings() => new() { ["Failover:Enabled"] = "false" };

    protected override Dictionary<string, string?> AgentSettings() => new()
    {
        ["Aggregator:ReconnectMinDelay"] = "00:00:00.100",
        ["Aggregator:ReconnectMaxDelay"] = "00:00:01",
    };
}

/// <summary>
/// FleetService.Failover against real Postgres, agents and aggregators: validation and authorisation
/// errors, refusals, a manual failover that must fence a reachable old primary first, and a cross-region
/// promotion run by the candidate's own regional aggregator with an explicit override (docs/failover.md).
/// </summary>
public sealed class ManualFailoverTests(ManualFailoverFixture fixture) : IClassFixture<ManualFailoverFixture>
{
    private const string Operator = "ops-alice";

    [Fact]
    public async Task Failover_BadRequests_AreRejectedWithClearStatus_AndChangeNothing()
    {
        var noReason = await Assert.ThrowsAsync<RpcException>(() => fixture.Api.FailoverAsync(Request(candidate: "node1", reason: "")));
        Assert.Equal(StatusCode.InvalidArgument, noReason.StatusCode);
        Assert.Contains("operator.reason is required", noReason.Status.Detail, StringComparison.Ordinal);

        var crossWithoutReason = Request(candidate: "node1");
        crossWithoutReason.AllowCrossRegion = true;
        var noCrossReason = await Assert.ThrowsAsync<RpcException>(() => fixture.Api.FailoverAsync(crossWithoutReason));
        Assert.Equal(StatusCode.InvalidArgument, noCrossReason.StatusCode);
        Assert.Contains("cross_region_reason is required", noCrossReason.Status.Detail, StringComparison.Ordinal);

        var unknown = await Assert.ThrowsAsync<RpcException>(() => fixture.Api.FailoverAsync(Request(candidate: "node1", cluster: "no-such-cluster")));
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("allow_cross_region", unknown.Status.Detail, StringComparison.Ordinal);

        var staleEpoch = Request(candidate: "node1");
        staleEpoch.ExpectedEpoch = 99;
        var aborted = await Assert.ThrowsAsync<RpcException>(() => fixture.Api.FailoverAsync(staleEpoch));
        Assert.Equal(StatusCode.Aborted, aborted.StatusCode);

        var notAReplica = (await fixture.Api.FailoverAsync(Request(candidate: "node9"))).Decision;
        Assert.Equal(DecisionOutcome.Refused, notAReplica.Outcome);
        Assert.Equal("'node9' is not a replica of this cluster in this region", notAReplica.Reasons[^1]);
        Assert.StartsWith(Operator + "@", notAReplica.Actor, StringComparison.Ordinal);

        var refusal = await Poll.UntilAsync(() => fixture.Api.ListEventsAsync(new ListEventsRequest { Cluster = FleetFixture.Cluster, Limit = 50 }),
            events => events.Events.Any(e => e.Message == "manual failover refused: 'node9' is not a replica of this cluster in this region"),
            FleetFixture.ConditionTimeout, "the refusal recorded as an event");
        Assert.StartsWith(Operator + "@", refusal.Events.First(e => e.Message.StartsWith("manual failover refused", StringComparison.Ordinal)).Actor, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Failover_ReachablePrimary_IsFencedThenReplicaPromoted_ThenCrossRegionPromotionNeedsOverride()
    {
        var nodes = fixture.Fleet.Postgres.Nodes;

        // 1. Manual failover while the old primary is healthy and reachable: it must be fenced first.
        var decision = (await fixture.Api.FailoverAsync(Request(candidate: "node2"))).Decision;
        Assert.True(decision.Outcome == DecisionOutcome.Completed, string.Join("; ", decision.Reasons));
        Assert.Equal(("node0", "node2", 1UL, DecisionKind.ManualFailover), (decision.OldPrimary, decision.NewPrimary, decision.Epoch, decision.Kind));
        Assert.Contains("manual failover requested by " + decision.Actor + ": drill", decision.Reasons);
        Assert.False(await nodes[2].IsInRecoveryAsync());
        await InsertAsync(nodes[2].ConnectionString);
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => InsertAsync(nodes[0].ConnectionString)); // fenced by a stop
        var cluster = await Poll.UntilAsync(() => fixture.Api.GetClusterAsync(FleetFixture.Cluster), c => c.Summary.Primary == "node2" && c.Summary.Epoch == 1,
            FleetFixture.ConditionTimeout, "node2 published as primary at epoch 1", c => c.Summary.ToString());
        Assert.Equal("node2", cluster.Summary.Primary);

        // The fenced old primary is a former primary: the aggregator has it rejoin node2 as a replica.
        await Poll.UntilAsync(() => fixture.Api.GetNodeAsync(FleetFixture.Cluster, "node0"), n => n.Role == NodeRole.Replica && n.Upstream == "node2",
            TimeSpan.FromSeconds(60), "node0 rejoined as a replica of node2", n => $"{n.Role} {n.PostgresState} upstream '{n.Upstream}'");
        Assert.True(await nodes[0].IsInRecoveryAsync());

        // 2. The primary's region is lost (node2 dies). A replica served by another region's aggregator
        //    can be promoted there, only by an operator, only with the override and its reason.
        nodes[2].KillPostmaster();
        await using var dr = await DisasterRecoveryRegion.StartAsync();
        await using var drAgent = await fixture.StartExtraAgentAsync(1, new Dictionary<string, string?>
        {
            ["Node:Region"] = DisasterRecoveryRegion.Region,
            ["Archive:Region"] = DisasterRecoveryRegion.Region,
            ["Node:StateDirectory"] = dr.AgentStateDirectory,
            ["Aggregator:Endpoints:0"] = dr.Grpc.ToString(),
        });
        using var drApi = new FleetServiceClient(dr.Grpc);
        await Poll.UntilAsync(() => drApi.GetNodeAsync(FleetFixture.Cluster, "node1"), n => n.Role == NodeRole.Replica && n.PostgresState == PostgresState.Up,
            FleetFixture.ConditionTimeout, "node1 reporting to the dr aggregator as a replica");

        var withoutOverride = await Assert.ThrowsAsync<RpcException>(() => drApi.FailoverAsync(Request(candidate: "node1")));
        Assert.Equal(StatusCode.NotFound, withoutOverride.StatusCode);
        Assert.True(await nodes[1].IsInRecoveryAsync(), "node1 must still be a replica after the refusal");

        var request = Request(candidate: "node1");
        request.AllowCrossRegion = true;
        request.CrossRegionReason = "region local is down (incident 42)";
        var crossRegion = (await drApi.FailoverAsync(request)).Decision;
        Assert.True(crossRegion.Outcome == DecisionOutcome.Completed, string.Join("; ", crossRegion.Reasons));
        Assert.Equal(("node1", 1UL), (crossRegion.NewPrimary, crossRegion.Epoch));
        Assert.Contains(crossRegion.Reasons, r => r.StartsWith("cross-region promotion by " + crossRegion.Actor, StringComparison.Ordinal) && r.EndsWith("override reason: region local is down (incident 42)", StringComparison.Ordinal));
        Assert.False(await nodes[1].IsInRecoveryAsync());
        await InsertAsync(nodes[1].ConnectionString);
        await Poll.UntilAsync(() => drApi.GetClusterAsync(FleetFixture.Cluster), c => c.Summary.Primary == "node1",
            FleetFixture.ConditionTimeout, "node1 published as primary by the dr aggregator", c => c.Summary.ToString());
    }

    private static FailoverRequest Request(string candidate, string reason = "drill", string cluster = FleetFixture.Cluster) => new()
    {
        Cluster = cluster,
        Candidate = candidate,
        Operator = new OperatorContext { Operator = Operator, Reason = reason },
    };

    private static async Task InsertAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("CREATE TABLE IF NOT EXISTS manual_failover (id serial PRIMARY KEY, at timestamptz DEFAULT now()); INSERT INTO manual_failover DEFAULT VALUES", connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>A second aggregator, for region "dr", with its own store and ports.</summary>
    private sealed class DisasterRecoveryRegion : IAsyncDisposable
    {
        public const string Region = "dr";
        private readonly WebApplication _app;
        private readonly string _directory;

        private DisasterRecoveryRegion(WebApplication app, string directory, int port)
        {
            _app = app;
            _directory = directory;
            Grpc = new Uri($"http://127.0.0.1:{port}");
        }

        public Uri Grpc { get; }

        public string AgentStateDirectory => Path.Combine(_directory, "agent-state");

        public static async Task<DisasterRecoveryRegion> StartAsync()
        {
            var directory = Directory.CreateTempSubdirectory("fleet-e2e-dr-").FullName;
            var port = FreeTcpPort.PickConsecutive(2);
            var app = AggregatorHost.Build(null, new Dictionary<string, string?>
            {
                ["Region"] = Region,
                ["InstanceId"] = "dr-aggregator",
                ["Listen:Grpc"] = $"127.0.0.1:{port}",
                ["Listen:Http"] = $"127.0.0.1:{port + 1}",
                ["Store:Path"] = Path.Combine(directory, "aggregator.db"),
                ["Failover:Enabled"] = "false",
                ["Logging:LogLevel:Default"] = "Warning",
            });
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await app.StartAsync(timeout.Token);
            return new DisasterRecoveryRegion(app, directory, port);
        }

        public async ValueTask DisposeAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _app.StopAsync(timeout.Token);
            }
            finally
            {
                await _app.DisposeAsync();
                Directory.Delete(_directory, recursive: true);
            }
        }
    }
}
