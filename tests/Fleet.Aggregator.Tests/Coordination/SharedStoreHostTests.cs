using Fleet.Aggregator.Tests.Store;
using Fleet.Protos.V1;
using Grpc.Core;
using Grpc.Net.Client;
using static Fleet.Aggregator.Tests.Coordination.EtcdAggregatorHostTests;

namespace Fleet.Aggregator.Tests.Coordination;

/// <summary>
/// Two real aggregators on a real etcd cluster sharing one real PostgreSQL store: the region's history
/// is written once, read the same from either, announced to watchers of either, and kept across a leader change.
/// </summary>
[Collection(PostgresStoreCollection.Name)]
public sealed class SharedStoreHostTests(EtcdClusterFixture etcd, PostgresStoreServer postgres) : IClassFixture<EtcdClusterFixture>
{
    [Fact]
    public async Task TwoAggregatorsOnOneStore_HistoryWrittenOnce_SameFromBoth_WatchedFromTheFollower_KeptAfterTheLeaderStops()
    {
        var schema = "t_" + Guid.NewGuid().ToString("N");
        var store = new Dictionary<string, string?>
        {
            ["Store:Provider"] = "Postgres",
            ["Store:Postgres:ConnectionString"] = postgres.ConnectionString,
            ["Store:Postgres:Schema"] = schema,
        };
        var prefix = "/fleet-shared-test-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            await using var a = await EtcdAggregatorHostTests.Aggregator.StartAsync("agg-a", prefix, etcd.Cluster.Endpoints, store);
            await using var b = await EtcdAggregatorHostTests.Aggregator.StartAsync("agg-b", prefix, etcd.Cluster.Endpoints, store);
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            var (leader, follower, _) = await WaitForLeaderAsync(http, a, b);

            // A watcher of the follower, past its initial state.
            using var followerChannel = GrpcChannel.ForAddress("http://" + follower.GrpcAddress);
            using var leaderChannel = GrpcChannel.ForAddress("http://" + leader.GrpcAddress);
            using var watch = new FleetService.FleetServiceClient(followerChannel).Watch(new WatchRequest { Cluster = "pg" }, deadline: DateTime.UtcNow.AddSeconds(60));
            while (await watch.ResponseStream.MoveNext(CancellationToken.None) && watch.ResponseStream.Current.InitialStateComplete is null)
            {
            }

            var watched = new List<Event>();
            var watching = Task.Run(async () =>
            {
                while (watched.Count < 2 && await watch.ResponseStream.MoveNext(CancellationToken.None))
                {
                    if (watch.ResponseStream.Current.EventAppended is { } appended)
                    {
                        watched.Add(appended);
                    }
                }
            });

            // node0 links to both: both see it appear, only the leader writes that. An agent of another region
            // is refused by the follower alone: the follower writes that.
            using var toFollower = new AgentLink.AgentLinkClient(followerChannel).Connect(deadline: DateTime.UtcNow.AddSeconds(60));
            using var toLeader = new AgentLink.AgentLinkClient(leaderChannel).Connect(deadline: DateTime.UtcNow.AddSeconds(60));
            await toFollower.RequestStream.WriteAsync(Hello("node0", NodeRole.Primary));
            await toLeader.RequestStream.WriteAsync(Hello("node0", NodeRole.Primary));
            Assert.True(await toFollower.ResponseStream.MoveNext(CancellationToken.None));
            Assert.True(await toLeader.ResponseStream.MoveNext(CancellationToken.None));
            using var foreign = new AgentLink.AgentLinkClient(followerChannel).Connect(deadline: DateTime.UtcNow.AddSeconds(60));
            await foreign.RequestStream.WriteAsync(Hello("node9", NodeRole.Replica, region: "elsewhere"));
            var refused = await Assert.ThrowsAsync<RpcException>(() => foreign.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);

            await watching.WaitAsync(TimeSpan.FromSeconds(10));
            var fromLeader = await ListAsync(leaderChannel);
            var fromFollower = await ListAsync(followerChannel);
            Assert.Equal(fromLeader, fromFollower);
            Assert.Single(fromLeader, e => e.Kind == EventKind.NodePresence && e.Node == "node0");
            Assert.Single(fromLeader, e => e.Kind == EventKind.AgentRejected && e.Node == "node9");
            Assert.Equal(fromLeader.Select(e => e.Id).Order(), watched.Select(e => e.Id).Order());

            // The leader stops; the follower leads and answers with the same history.
            await leader.DisposeAsync();
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (!(await follower.LeadershipAsync(http)).GetProperty("isLeader").GetBoolean())
            {
                Assert.True(DateTime.UtcNow < deadline, $"{follower.Name} did not take over");
                await Task.Delay(50);
            }

            var afterwards = await ListAsync(followerChannel);
            Assert.Equal(fromLeader, afterwards.Where(e => fromLeader.Any(f => f.Id == e.Id)));
        }
        finally
        {
            await postgres.DropSchemaAsync(schema);
        }
    }

    private static async Task<List<Event>> ListAsync(GrpcChannel channel)
    {
        var response = await new FleetService.FleetServiceClient(channel).ListEventsAsync(new ListEventsRequest { Cluster = "pg" }, deadline: DateTime.UtcNow.AddSeconds(10));
        return [.. response.Events];
    }
}
