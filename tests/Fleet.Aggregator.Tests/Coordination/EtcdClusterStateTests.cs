using Fleet.Aggregator.Configuration;
using Fleet.Aggregator.Coordination;
using Fleet.Aggregator.Failover;
using Fleet.Aggregator.Store;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Fleet.Aggregator.Tests.Coordination;

/// <summary>Epochs and published primaries in a real etcd: written by the leader only, and never by a deposed one.</summary>
public sealed class EtcdClusterStateTests(EtcdClusterFixture etcd) : IClassFixture<EtcdClusterFixture>
{
    [Fact]
    public async Task Leader_AdvancesEpochAndPublishesPrimary_ADeposedLeaderWritesNothing_TheNextOneResumesFromIt()
    {
        var prefix = "/fleet-state-test-" + Guid.NewGuid().ToString("N")[..8];
        var first = await StartAsync("agg-a", prefix);
        var second = await StartAsync("agg-b", prefix);
        try
        {
            var leader = await LeaderOfAsync(first, second);
            var follower = leader == first ? second : first;
            var state = new EtcdClusterState(leader, TimeProvider.System);
            var followerState = new EtcdClusterState(follower, TimeProvider.System);

            // A follower may not write at all.
            await Assert.ThrowsAsync<NotLeaderException>(() => followerState.TryAdvanceEpochAsync("pg", 0, 1, CancellationToken.None));

            Assert.Equal(new EpochAdvanceResult(true, 1), await state.TryAdvanceEpochAsync("pg", 0, 1, CancellationToken.None));
            Assert.Equal(new EpochAdvanceResult(false, 1), await state.TryAdvanceEpochAsync("pg", 0, 1, CancellationToken.None));
            Assert.Equal(new EpochAdvanceResult(true, 2), await state.TryAdvanceEpochAsync("pg", 1, 2, CancellationToken.None));
            await state.SavePrimaryAsync(new ClusterPrimary("pg", "node1", 2, "node2", 2) { FormerPrimary = "node0" }, CancellationToken.None);

            // Published where HAProxy (confd), vip-manager or an application looks: the primary's name, plain text.
            var published = await leader.Client.GetValAsync($"{prefix}/test/pg/primary");
            Assert.Equal("node1", published);

            // The leader is deposed behind its back (its lease revoked, as when etcd expired it while the process was
            // paused) and the other is elected. The old leader, still believing in its term as a paused process
            // would on waking, writes nothing: the transaction's comparison on the leader key fails.
            var oldTerm = leader.Status(DateTimeOffset.UtcNow);
            var stale = new EtcdClusterState(new BelievedTerm(leader, oldTerm), TimeProvider.System);
            using (var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
            {
                await leader.StopAsync(stop.Token); // revokes its lease: the key goes, the follower campaigns
            }

            var next = await LeaderOfAsync(follower, follower, exceptTerm: oldTerm.Term);
            var nextState = new EtcdClusterState(next, TimeProvider.System);
            var refused = await Assert.ThrowsAsync<NotLeaderException>(() => stale.TryAdvanceEpochAsync("pg", 2, 3, CancellationToken.None));
            Assert.Contains($"term {oldTerm.Term} is over (the leader is {next.Status(DateTimeOffset.UtcNow).Holder})", refused.Message, StringComparison.Ordinal);
            await Assert.ThrowsAsync<NotLeaderException>(() => stale.SavePrimaryAsync(new ClusterPrimary("pg", "node0", 2, null, 0), CancellationToken.None));

            var resumed = Assert.Single(await nextState.ListPrimariesAsync(CancellationToken.None));
            Assert.Equal(("pg", "node1", 2UL, "node2", 2UL, "node0"), (resumed.Cluster, resumed.Primary, resumed.Epoch, resumed.PendingCandidate, resumed.PendingEpoch, resumed.FormerPrimary));
            Assert.Equal(2UL, (await nextState.ListEpochsAsync(CancellationToken.None))["pg"]);
            Assert.Equal("node1", await next.Client.GetValAsync($"{prefix}/test/pg/primary"));
            Assert.Equal(new EpochAdvanceResult(true, 3), await nextState.TryAdvanceEpochAsync("pg", 2, 3, CancellationToken.None));
        }
        finally
        {
            foreach (var member in new[] { first, second })
            {
                using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await member.StopAsync(stop.Token);
                member.Dispose();
            }
        }
    }

    /// <summary>A leader's view frozen at one instant: the term it held then, whatever happened since.</summary>
    private sealed class BelievedTerm(EtcdLeadership real, LeadershipStatus believed) : IEtcdTerm
    {
        public dotnet_etcd.EtcdClient Client => real.Client;

        public Google.Protobuf.ByteString LeaderKeyBytes => real.LeaderKeyBytes;

        public string RegionPrefix => real.RegionPrefix;

        public DateTime Deadline() => real.Deadline();

        public LeadershipStatus Status(DateTimeOffset now) => believed;
    }

    private async Task<EtcdLeadership> StartAsync(string name, string prefix)
    {
        var options = new CoordinationOptions
        {
            Mode = CoordinationMode.Etcd,
            Name = name,
            Etcd = new EtcdCoordinationOptions
            {
                Endpoints = [.. etcd.Cluster.Endpoints], Prefix = prefix, LeaseTtl = TimeSpan.FromSeconds(2),
                RenewInterval = TimeSpan.FromMilliseconds(300), RequestTimeout = TimeSpan.FromMilliseconds(300), StepDownMargin = TimeSpan.FromSeconds(1),
            },
        };
        var leadership = new EtcdLeadership(Options.Create(options), Options.Create(new AggregatorOptions { Region = "test" }), TimeProvider.System, NullLogger<EtcdLeadership>.Instance);
        await leadership.StartAsync(CancellationToken.None);
        return leadership;
    }

    private static async Task<EtcdLeadership> LeaderOfAsync(EtcdLeadership a, EtcdLeadership b, long exceptTerm = -1)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var now = DateTimeOffset.UtcNow;
            foreach (var candidate in new[] { a, b })
            {
                if (candidate.IsLeader(now) && candidate.Status(now).Term != exceptTerm)
                {
                    return candidate;
                }
            }

            Assert.True(DateTime.UtcNow < deadline, "no leader elected");
            await Task.Delay(20);
        }
    }
}
