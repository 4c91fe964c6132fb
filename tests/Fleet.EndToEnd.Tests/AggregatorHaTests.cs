using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Fleet.Aggregator;
using Fleet.EndToEnd.Tests.Infrastructure;
using Fleet.LocalFleet.Postgres;
using Fleet.Protos.V1;
using Fleet.Testing.Etcd;
using Microsoft.AspNetCore.Builder;
using Xunit.Abstractions;

namespace Fleet.EndToEnd.Tests;

/// <summary>
/// A local fleet (primary + 2 replicas, three agents) served by two aggregators in Coordination:Mode=Etcd on a real
/// three-member etcd: the fleet's own (agg-1, elected first) and a second one (agg-2) the agents know as their
/// second endpoint.
/// </summary>
public sealed class HaFleetFixture : FleetFixture, IAsyncLifetime
{
    private WebApplication? _second;
    private string? _secondDirectory;

    public EtcdCluster Etcd { get; private set; } = null!;

    public string Prefix { get; } = "/fleet-e2e-" + Guid.NewGuid().ToString("N")[..8];

    public int SecondGrpcPort { get; private set; }

    public Uri SecondHttp => new($"http://127.0.0.1:{SecondGrpcPort + 1}");

    public Uri SecondGrpc => new($"http://127.0.0.1:{SecondGrpcPort}");

    public new async Task InitializeAsync()
    {
        Etcd = await EtcdCluster.StartAsync(3);
        SecondGrpcPort = FreeTcpPort.PickConsecutive(2);
        await base.InitializeAsync();
        _secondDirectory = Directory.CreateTempSubdirectory("fleet-e2e-agg2-").FullName;
        await StartSecondAsync();
    }

    /// <summary>Stops agg-2 as SIGTERM would (its lease revoked if it led).</summary>
    public async Task StopSecondAsync()
    {
        if (_second is { } second)
        {
            _second = null;
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await second.StopAsync(stop.Token);
            await second.DisposeAsync();
        }
    }

    /// <summary>Starts agg-2 again on the same store and ports.</summary>
    public async Task StartSecondAsync()
    {
        var settings = Coordination("agg-2");
        settings["Region"] = Region;
        settings["InstanceId"] = "agg-2";
        settings["Listen:Grpc"] = $"127.0.0.1:{SecondGrpcPort}";
        settings["Listen:Http"] = $"127.0.0.1:{SecondGrpcPort + 1}";
        settings["Store:Path"] = Path.Combine(_secondDirectory!, "aggregator.db");
        settings["Logging:Console:LogLevel:Default"] = "None";
        _second = AggregatorHost.Build(null, settings);
        await _second.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    public override async Task DisposeAsync()
    {
        await StopSecondAsync();

        await base.DisposeAsync();
        if (_secondDirectory is not null)
        {
            Directory.Delete(_secondDirectory, recursive: true);
        }

        if (Etcd is not null)
        {
            await Etcd.DisposeAsync();
        }
    }

    protected override Dictionary<string, string?> AggregatorSettings() => Coordination("agg-1");

    // Every agent knows both aggregators; a short reconnect ceiling keeps the test's hand-over brisk.
    protected override Dictionary<string, string?> AgentSettings() => new()
    {
        ["Aggregator:Endpoints:1"] = $"http://127.0.0.1:{SecondGrpcPort}",
        ["Aggregator:ReconnectMaxDelay"] = "00:00:01",
    };

    private Dictionary<string, string?> Coordination(string name)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Coordination:Mode"] = "Etcd",
            ["Coordination:Name"] = name,
            ["Coordination:Etcd:Prefix"] = Prefix,
            ["Coordination:Etcd:LeaseTtl"] = "00:00:02",
            ["Coordination:Etcd:RenewInterval"] = "00:00:00.3",
            ["Coordination:Etcd:RequestTimeout"] = "00:00:00.3",
            ["Coordination:Etcd:StepDownMargin"] = "00:00:01",
        };
        for (var i = 0; i < Etcd.Endpoints.Count; i++)
        {
            settings[$"Coordination:Etcd:Endpoints:{i.ToString(CultureInfo.InvariantCulture)}"] = Etcd.Endpoints[i];
        }

        return settings;
    }
}

/// <summary>The leader aggregator is lost, the other takes over the fleet and then decides a failover alone.</summary>
public sealed class AggregatorHaTests(HaFleetFixture fixture, ITestOutputHelper output) : IClassFixture<HaFleetFixture>
{
    [Fact]
    public async Task LeaderAggregatorStops_TheOtherAlreadyHoldsTheAgents_ItResumesFromEtcd_ThenFailsOverALostPrimary_ThePublishedPrimaryFollows()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var etcd = new dotnet_etcd.EtcdClient(string.Join(",", fixture.Etcd.Endpoints));
        var primaryKey = $"{fixture.Prefix}/{FleetFixture.Region}/{FleetFixture.Cluster}/primary";

        // agg-1 led from the start: the agents are on it, and it published the primary in etcd.
        Assert.True((await Leadership(http, fixture.Fleet.AggregatorHttp)).GetProperty("isLeader").GetBoolean());
        Assert.Equal("agg-1", (await Poll.UntilAsync(() => Leadership(http, fixture.SecondHttp), l => l.GetProperty("leader").GetString() == "agg-1",
            FleetFixture.ConditionTimeout, "agg-2 to follow agg-1")).GetProperty("leader").GetString());
        Assert.Equal(FleetFixture.Primary, await Poll.UntilAsync(() => etcd.GetValAsync(primaryKey), v => v == FleetFixture.Primary, FleetFixture.ConditionTimeout, "the primary published in etcd"));

        // agg-2 follows, yet every agent links to it too: it holds the whole cluster with fresh reports already.
        using var second = new FleetServiceClient(fixture.SecondGrpc);
        var beforeAt = DateTimeOffset.UtcNow;
        var held = await Poll.UntilAsync(() => second.GetClusterAsync(FleetFixture.Cluster), c => FleetFixture.IsWhole(c) && c.Nodes.All(n => n.LastReportAt.ToDateTimeOffset() > beforeAt),
            FleetFixture.ConditionTimeout, "agg-2 to hold the whole cluster while it follows", FleetFixture.Describe);
        Assert.Equal(FleetFixture.Primary, held.Summary.Primary);
        Assert.False((await Leadership(http, fixture.SecondHttp)).GetProperty("isLeader").GetBoolean());

        // agg-1 stops (its lease revoked): agg-2 leads and takes over the state from etcd; the agents were already on it.
        var stoppedAt = DateTimeOffset.UtcNow;
        await fixture.Fleet.StopAggregatorAsync();
        var whole = await Poll.UntilAsync(() => second.GetClusterAsync(FleetFixture.Cluster), c => FleetFixture.IsWhole(c) && c.Nodes.All(n => n.LastReportAt.ToDateTimeOffset() > stoppedAt),
            FleetFixture.ConditionTimeout, "agg-2 to hold the whole cluster", FleetFixture.Describe);
        output.WriteLine($"agg-1 stopped; agg-2 holds every agent {(DateTimeOffset.UtcNow - stoppedAt).TotalMilliseconds:F0} ms later");
        Assert.True((await Leadership(http, fixture.SecondHttp)).GetProperty("isLeader").GetBoolean());
        Assert.Equal(FleetFixture.Primary, whole.Summary.Primary);

        // The primary's PostgreSQL dies: agg-2 alone decides the failover; the epoch and the published primary move in etcd.
        var killedAt = DateTimeOffset.UtcNow;
        fixture.Fleet.Postgres.Primary.KillPostmaster();
        var failedOver = await Poll.UntilAsync(() => second.GetClusterAsync(FleetFixture.Cluster), c => c.Summary.Primary != FleetFixture.Primary && c.Summary.Epoch >= 1,
            TimeSpan.FromSeconds(60), "agg-2 to fail over", FleetFixture.Describe);
        output.WriteLine($"primary killed; {failedOver.Summary.Primary} published by agg-2 under epoch {failedOver.Summary.Epoch} {(DateTimeOffset.UtcNow - killedAt).TotalMilliseconds:F0} ms later");
        Assert.Equal(failedOver.Summary.Primary, await Poll.UntilAsync(() => etcd.GetValAsync(primaryKey), v => v == failedOver.Summary.Primary, FleetFixture.ConditionTimeout, "the new primary in etcd"));
        Assert.Equal(failedOver.Summary.Epoch.ToString(CultureInfo.InvariantCulture), await etcd.GetValAsync($"{fixture.Prefix}/{FleetFixture.Region}/{FleetFixture.Cluster}/epoch"));

        // agg-1 comes back: it follows agg-2 and sends the agents on.
        await fixture.Fleet.StartAggregatorAsync();
        var back = await Poll.UntilAsync(() => Leadership(http, fixture.Fleet.AggregatorHttp), l => l.GetProperty("leader").GetString() == "agg-2",
            FleetFixture.ConditionTimeout, "the restarted agg-1 to follow agg-2");
        Assert.False(back.GetProperty("isLeader").GetBoolean());
    }

    private static async Task<JsonElement> Leadership(HttpClient http, Uri aggregatorHttp) =>
        await http.GetFromJsonAsync<JsonElement>(new Uri(aggregatorHttp, "/api/v1/leadership"));
}

/// <summary>Every aggregator restarted in turn, the leader twice: leadership moves, agents follow, nothing fails over.</summary>
public sealed class AggregatorRollingRestartTests(HaFleetFixture fixture, ITestOutputHelper output) : IClassFixture<HaFleetFixture>
{
    [Fact]
    public async Task RollingRestartOfBothAggregators_LeadershipMovesTwice_AgentsFollow_ZeroFailovers()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var first = fixture.Fleet.AggregatorHttp;
        await WaitForLeaderAsync(http, first, fixture.SecondHttp, "agg-1");

        // The follower first: nothing moves.
        await fixture.StopSecondAsync();
        await fixture.StartSecondAsync();
        await WaitForLeaderAsync(http, first, fixture.SecondHttp, "agg-1");

        // The leader: agg-2 takes over and the agents come to it; agg-1 comes back as a follower.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await fixture.Fleet.StopAggregatorAsync();
        await WaitWholeAsync(fixture.SecondGrpc, DateTimeOffset.UtcNow);
        output.WriteLine($"agg-1 stopped: agg-2 leads and holds every agent after {clock.ElapsedMilliseconds} ms");
        await fixture.Fleet.StartAggregatorAsync();
        await WaitForLeaderAsync(http, fixture.SecondHttp, first, "agg-2");

        // The new leader in turn: back to agg-1.
        clock.Restart();
        await fixture.StopSecondAsync();
        await WaitWholeAsync(fixture.Fleet.AggregatorGrpc, DateTimeOffset.UtcNow);
        output.WriteLine($"agg-2 stopped: agg-1 leads and holds every agent after {clock.ElapsedMilliseconds} ms");
        await fixture.StartSecondAsync();
        await WaitForLeaderAsync(http, first, fixture.SecondHttp, "agg-1");

        // Zero failovers: epoch 0 in etcd and on the leader, node0 still the writable primary, no decision recorded.
        using var etcd = new dotnet_etcd.EtcdClient(string.Join(",", fixture.Etcd.Endpoints));
        var epochKey = $"{fixture.Prefix}/{FleetFixture.Region}/{FleetFixture.Cluster}/epoch";
        Assert.Equal(0, (await etcd.GetAsync(epochKey)).Count);
        using var api = new FleetServiceClient(fixture.Fleet.AggregatorGrpc);
        var cluster = await api.GetClusterAsync(FleetFixture.Cluster);
        Assert.Equal((FleetFixture.Primary, 0UL), (cluster.Summary.Primary, cluster.Summary.Epoch));
        foreach (var aggregator in new[] { fixture.Fleet.AggregatorGrpc, fixture.SecondGrpc })
        {
            using var client = new FleetServiceClient(aggregator);
            var decisions = await client.ListEventsAsync(new ListEventsRequest { Kind = EventKind.FailoverDecision, Limit = 100 });
            Assert.Empty(decisions.Events);
        }

        await using var connection = await fixture.Fleet.Postgres.Primary.OpenConnectionAsync();
        await using var command = new Npgsql.NpgsqlCommand("SELECT pg_is_in_recovery()", connection);
        Assert.False((bool)(await command.ExecuteScalarAsync())!);
    }

    private static async Task WaitForLeaderAsync(HttpClient http, Uri leaderHttp, Uri followerHttp, string leader)
    {
        await Poll.UntilAsync(() => http.GetFromJsonAsync<JsonElement>(new Uri(leaderHttp, "/api/v1/leadership")), l => l.GetProperty("isLeader").GetBoolean(),
            FleetFixture.ConditionTimeout, $"{leader} to lead");
        await Poll.UntilAsync(() => http.GetFromJsonAsync<JsonElement>(new Uri(followerHttp, "/api/v1/leadership")), l => l.GetProperty("leader").GetString() == leader,
            FleetFixture.ConditionTimeout, $"the other aggregator to follow {leader}");
    }

    private static async Task WaitWholeAsync(Uri aggregatorGrpc, DateTimeOffset after)
    {
        using var api = new FleetServiceClient(aggregatorGrpc);
        await Poll.UntilAsync(() => api.GetClusterAsync(FleetFixture.Cluster), c => FleetFixture.IsWhole(c) && c.Nodes.All(n => n.LastReportAt.ToDateTimeOffset() > after),
            FleetFixture.ConditionTimeout, $"{aggregatorGrpc} to hold the whole cluster", FleetFixture.Describe);
    }
}

/// <summary>etcd loses quorum under a live fleet: no aggregator acts, nothing fails over, PostgreSQL keeps serving.</summary>
public sealed class EtcdQuorumLossTests(HaFleetFixture fixture, ITestOutputHelper output) : IClassFixture<HaFleetFixture>
{
    [Fact]
    public async Task EtcdLosesQuorum_NoAggregatorLeads_NoFailover_PrimaryKeepsServing_QuorumBack_ALeaderHoldsTheFleetAgain()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var aggregators = new[] { fixture.Fleet.AggregatorHttp, fixture.SecondHttp };
        await Poll.UntilAsync(() => LeadingAsync(http, aggregators), n => n == 1, FleetFixture.ConditionTimeout, "one leader");

        await fixture.Etcd.StopMemberAsync(1);
        await fixture.Etcd.StopMemberAsync(2);
        var lostAt = DateTimeOffset.UtcNow;
        await Poll.UntilAsync(() => LeadingAsync(http, aggregators), n => n == 0, FleetFixture.ConditionTimeout, "the leader to step down");
        output.WriteLine($"quorum lost: no aggregator leads {(DateTimeOffset.UtcNow - lostAt).TotalMilliseconds:F0} ms later");

        // Longer than failover timeout + lease + margin (3 + 2 + 1 s): nobody leads, nobody fails over, node0 takes writes.
        var until = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(8);
        var writes = 0;
        while (DateTimeOffset.UtcNow < until)
        {
            Assert.Equal(0, await LeadingAsync(http, aggregators));
            await using var connection = await fixture.Fleet.Postgres.Primary.OpenConnectionAsync();
            await using var insert = new Npgsql.NpgsqlCommand("CREATE TABLE IF NOT EXISTS quorum_probe (at timestamptz); INSERT INTO quorum_probe VALUES (now())", connection);
            await insert.ExecuteNonQueryAsync();
            writes++;
            await Task.Delay(250);
        }

        output.WriteLine($"{writes} writes acknowledged by node0 without quorum");
        await fixture.Etcd.StartMemberAsync(1);
        await fixture.Etcd.StartMemberAsync(2);
        var backAt = DateTimeOffset.UtcNow;
        var leaderGrpc = await Poll.UntilAsync(async () =>
        {
            foreach (var (httpUri, grpcUri) in new[] { (fixture.Fleet.AggregatorHttp, fixture.Fleet.AggregatorGrpc), (fixture.SecondHttp, fixture.SecondGrpc) })
            {
                if ((await http.GetFromJsonAsync<JsonElement>(new Uri(httpUri, "/api/v1/leadership"))).GetProperty("isLeader").GetBoolean())
                {
                    return grpcUri;
                }
            }

            return null;
        }, l => l is not null, FleetFixture.ConditionTimeout, "a leader once quorum is back");
        using var api = new FleetServiceClient(leaderGrpc!);
        var cluster = await Poll.UntilAsync(() => api.GetClusterAsync(FleetFixture.Cluster), c => FleetFixture.IsWhole(c) && c.Nodes.All(n => n.LastReportAt.ToDateTimeOffset() > backAt),
            FleetFixture.ConditionTimeout, "the leader to hold the whole cluster", FleetFixture.Describe);
        output.WriteLine($"quorum back: {leaderGrpc} leads and holds every agent {(DateTimeOffset.UtcNow - backAt).TotalMilliseconds:F0} ms later");
        Assert.Equal((FleetFixture.Primary, 0UL), (cluster.Summary.Primary, cluster.Summary.Epoch));
    }

    private static async Task<int> LeadingAsync(HttpClient http, IEnumerable<Uri> aggregators)
    {
        var leading = 0;
        foreach (var aggregator in aggregators)
        {
            leading += (await http.GetFromJsonAsync<JsonElement>(new Uri(aggregator, "/api/v1/leadership"))).GetProperty("isLeader").GetBoolean() ? 1 : 0;
        }

        return leading;
    }
}
