using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Fleet.Chaos.Faults;
using Fleet.LocalFleet.Postgres;
using Fleet.Protos.V1;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;

namespace Fleet.Aggregator.Tests.Coordination;

/// <summary>Two real aggregator hosts in Coordination:Mode=Etcd on one etcd cluster: one leads, the other says who.</summary>
public sealed class EtcdAggregatorHostTests(EtcdClusterFixture etcd) : IClassFixture<EtcdClusterFixture>
{
    [Fact]
    public async Task TwoAggregators_OneLeads_TheFollowerNamesItOverHttpAndMetrics_AndRefusesRoleChanges_ThenTakesOver()
    {
        var prefix = "/fleet-host-test-" + Guid.NewGuid().ToString("N")[..8];
        await using var a = await Aggregator.StartAsync("agg-a", prefix, etcd.Cluster.Endpoints);
        await using var b = await Aggregator.StartAsync("agg-b", prefix, etcd.Cluster.Endpoints);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

        var (leader, follower, seen) = await WaitForLeaderAsync(http, a, b);

        Assert.Equal("etcd", seen.GetProperty("mode").GetString());
        Assert.False(seen.GetProperty("isLeader").GetBoolean());
        Assert.Equal(leader.Name, seen.GetProperty("leader").GetString());
        Assert.Equal(leader.GrpcAddress, seen.GetProperty("leaderAddress").GetString());

        Assert.Contains("\nfleet_aggregator_leader 1\n", await http.GetStringAsync(leader.Http("/metrics")), StringComparison.Ordinal);
        Assert.Contains("\nfleet_aggregator_leader 0\n", await http.GetStringAsync(follower.Http("/metrics")), StringComparison.Ordinal);

        // A role change asked of the follower is refused with the leader's name and address; nothing is decided there.
        using var channel = GrpcChannel.ForAddress("http://" + follower.GrpcAddress);
        var refused = await Assert.ThrowsAsync<RpcException>(() => new FleetService.FleetServiceClient(channel).SwitchoverAsync(new SwitchoverRequest
        {
            Cluster = "pg",
            Operator = new OperatorContext { Operator = "ops-test", Reason = "test" },
        }, deadline: DateTime.UtcNow.AddSeconds(10)).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
        Assert.Contains($"ask the leader, {leader.Name} at {leader.GrpcAddress}", refused.Status.Detail, StringComparison.Ordinal);

        // The leader stops cleanly (its lease revoked): the follower leads.
        await leader.DisposeAsync();
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!(await follower.LeadershipAsync(http)).GetProperty("isLeader").GetBoolean())
        {
            Assert.True(DateTime.UtcNow < deadline, $"{follower.Name} did not take over");
            await Task.Delay(50);
        }
    }

    /// <summary>
    /// etcd silent at start (requests unanswered, no reset): the aggregator starts and serves as a follower that knows
    /// no leader, rather than failing to start on the first request past Coordination:Etcd:RequestTimeout, and leads once etcd answers.
    /// </summary>
    [Fact]
    public async Task EtcdSilentAtStart_TheAggregatorStartsAndServesAsAFollower_ThenLeadsOnceEtcdAnswers()
    {
        var prefix = "/fleet-silent-start-" + Guid.NewGuid().ToString("N")[..8];
        await using var proxy = TcpFaultProxy.Start(new IPEndPoint(IPAddress.Loopback, new Uri(etcd.Cluster.Endpoints[0]).Port));
        proxy.Partition();
        await using var a = await Aggregator.StartAsync("agg-a", prefix, [$"http://127.0.0.1:{proxy.EndPoint.Port}"]);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

        var silent = await a.LeadershipAsync(http);
        Assert.False(silent.GetProperty("isLeader").GetBoolean());
        Assert.True(!silent.TryGetProperty("leader", out var leader) || leader.ValueKind == JsonValueKind.Null, $"a leader named while etcd is silent: {silent}");
        Assert.Contains("\nfleet_aggregator_leader 0\n", await http.GetStringAsync(a.Http("/metrics")), StringComparison.Ordinal);

        proxy.Heal();
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!(await a.LeadershipAsync(http)).GetProperty("isLeader").GetBoolean())
        {
            Assert.True(DateTime.UtcNow < deadline, "agg-a did not lead once etcd answered");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task AgentLinks_BothAggregatorsAdmitAndIngest_TheWelcomeSaysWhoLeads_OnlyTheLeaderGrantsLeases()
    {
        var prefix = "/fleet-link-test-" + Guid.NewGuid().ToString("N")[..8];
        await using var a = await Aggregator.StartAsync("agg-a", prefix, etcd.Cluster.Endpoints);
        await using var b = await Aggregator.StartAsync("agg-b", prefix, etcd.Cluster.Endpoints);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var (leader, follower, _) = await WaitForLeaderAsync(http, a, b);

        // One agent (node0, a primary) links to both, as a real agent given both endpoints does.
        using var followerChannel = GrpcChannel.ForAddress("http://" + follower.GrpcAddress);
        using var leaderChannel = GrpcChannel.ForAddress("http://" + leader.GrpcAddress);
        using var toFollower = new AgentLink.AgentLinkClient(followerChannel).Connect(deadline: DateTime.UtcNow.AddSeconds(60));
        using var toLeader = new AgentLink.AgentLinkClient(leaderChannel).Connect(deadline: DateTime.UtcNow.AddSeconds(60));
        await toFollower.RequestStream.WriteAsync(Hello("node0", NodeRole.Primary));
        await toLeader.RequestStream.WriteAsync(Hello("node0", NodeRole.Primary));

        Assert.True(await toFollower.ResponseStream.MoveNext(CancellationToken.None));
        var followerWelcome = toFollower.ResponseStream.Current.Welcome;
        Assert.True(await toLeader.ResponseStream.MoveNext(CancellationToken.None));
        var leaderWelcome = toLeader.ResponseStream.Current.Welcome;
        Assert.True(followerWelcome.Accepted, followerWelcome.Reason);
        Assert.True(leaderWelcome.Accepted, leaderWelcome.Reason);
        Assert.True(followerWelcome.Coordinated);
        Assert.True(leaderWelcome.Coordinated);
        Assert.False(followerWelcome.Leader);
        Assert.True(leaderWelcome.Leader);

        // The same primary reports on both links, every 100 ms (bounded), until the leader has granted two leases.
        var grants = new List<LeaseGrant>();
        var leaderCommands = Task.Run(async () =>
        {
            while (grants.Count < 2 && await toLeader.ResponseStream.MoveNext(CancellationToken.None))
            {
                if (toLeader.ResponseStream.Current.LeaseGrant is { } grant)
                {
                    grants.Add(grant);
                }
            }
        });
        using var followerQuiet = new CancellationTokenSource();
        var followerCommand = toFollower.ResponseStream.MoveNext(followerQuiet.Token);
        for (ulong sequence = 1; sequence <= 100 && !leaderCommands.IsCompleted; sequence++)
        {
            var report = new AgentMessage { Report = new AgentReport { Sequence = sequence, Snapshot = new NodeSnapshot { PostgresState = PostgresState.Up, Role = NodeRole.Primary } } };
            await toFollower.RequestStream.WriteAsync(report);
            await toLeader.RequestStream.WriteAsync(report);
            await Task.Delay(100);
        }

        await leaderCommands.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(2, grants.Count);
        Assert.False(followerCommand.IsCompleted, "the follower sent the agent something (a grant or a command) while the leader granted two leases");

        // The follower holds the node too, with its last report: every aggregator has the region's picture.
        using var followerFleet = GrpcChannel.ForAddress("http://" + follower.GrpcAddress);
        var seen = await new FleetService.FleetServiceClient(followerFleet).GetNodeAsync(new GetNodeRequest { Cluster = "pg", Node = "node0" }, deadline: DateTime.UtcNow.AddSeconds(10));
        Assert.Equal(AgentPresence.Connected, seen.Presence);
        Assert.Equal(NodeRole.Primary, seen.Role);
        Assert.True(DateTimeOffset.UtcNow - seen.LastReportAt.ToDateTimeOffset() < TimeSpan.FromSeconds(10), $"last report at {seen.LastReportAt}");
        await followerQuiet.CancelAsync(); // ends the follower's link (a cancelled read cancels the call)
    }

    internal static AgentMessage Hello(string node, NodeRole role = NodeRole.Replica, string region = "ha") => new()
    {
        Hello = new AgentHello
        {
            Identity = new NodeIdentity { Cluster = "pg", Name = node, Region = region },
            Role = role,
            AgentVersion = "ha-test",
            InstanceId = Guid.NewGuid().ToString("N"),
        },
    };

    /// <summary>Waits for one leader, and for the other to name it (it learns of it on its next look at etcd).</summary>
    internal static async Task<(Aggregator Leader, Aggregator Follower, JsonElement FollowerView)> WaitForLeaderAsync(HttpClient http, Aggregator a, Aggregator b)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var (aLeads, bLeads) = ((await a.LeadershipAsync(http)).GetProperty("isLeader").GetBoolean(), (await b.LeadershipAsync(http)).GetProperty("isLeader").GetBoolean());
            Assert.False(aLeads && bLeads, "two leaders at once");
            if (aLeads || bLeads)
            {
                var (leader, follower) = aLeads ? (a, b) : (b, a);
                var view = await follower.LeadershipAsync(http);
                if (view.GetProperty("leader").GetString() is not null)
                {
                    return (leader, follower, view);
                }
            }

            Assert.True(DateTime.UtcNow < deadline, "no aggregator became the leader, or the other never named it");
            await Task.Delay(50);
        }
    }

    internal sealed class Aggregator : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly string _directory;
        private readonly int _httpPort;
        private bool _stopped;

        private Aggregator(string name, WebApplication app, string directory, int grpcPort, int httpPort)
        {
            (Name, _app, _directory, _httpPort) = (name, app, directory, httpPort);
            GrpcAddress = $"127.0.0.1:{grpcPort}";
        }

        public string Name { get; }

        public string GrpcAddress { get; }

        public Uri Http(string path) => new($"http://127.0.0.1:{_httpPort}{path}");

        public async Task<JsonElement> LeadershipAsync(HttpClient http) => await http.GetFromJsonAsync<JsonElement>(Http("/api/v1/leadership"));

        public static async Task<Aggregator> StartAsync(string name, string prefix, IReadOnlyList<string> endpoints, IReadOnlyDictionary<string, string?>? extra = null)
        {
            var directory = Directory.CreateTempSubdirectory("fleet-ha-host-").FullName;
            var ports = FreeTcpPort.PickConsecutive(2);
            var settings = new Dictionary<string, string?>
            {
                ["Region"] = "ha",
                ["InstanceId"] = name,
                ["Listen:Grpc"] = $"127.0.0.1:{ports}",
                ["Listen:Http"] = $"127.0.0.1:{ports + 1}",
                ["Store:Path"] = Path.Combine(directory, "aggregator.db"),
                ["Logging:Console:LogLevel:Default"] = "None",
                ["Coordination:Mode"] = "Etcd",
                ["Coordination:Name"] = name,
                ["Coordination:AdvertiseAddress"] = $"127.0.0.1:{ports}",
                ["Coordination:Etcd:Prefix"] = prefix,
                ["Coordination:Etcd:LeaseTtl"] = "00:00:02",
                ["Coordination:Etcd:RenewInterval"] = "00:00:00.3",
                ["Coordination:Etcd:RequestTimeout"] = "00:00:00.3",
                ["Coordination:Etcd:StepDownMargin"] = "00:00:01",
            };
            for (var i = 0; i < endpoints.Count; i++)
            {
                settings[$"Coordination:Etcd:Endpoints:{i.ToString(CultureInfo.InvariantCulture)}"] = endpoints[i];
            }

            foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
            {
                settings[key] = value;
            }

            var app = AggregatorHost.Build(null, settings);
            await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
            return new Aggregator(name, app, directory, ports, ports + 1);
        }

        public async ValueTask DisposeAsync()
        {
            if (_stopped)
            {
                return;
            }

            _stopped = true;
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await _app.StopAsync(stop.Token);
            await _app.DisposeAsync();
            Directory.Delete(_directory, recursive: true);
        }
    }
}
