using System.Diagnostics;
using System.Net;
using Fleet.Aggregator.Configuration;
using Fleet.Aggregator.Coordination;
using Fleet.Aggregator.Failover;
using Fleet.Aggregator.Ingest;
using Fleet.Aggregator.State;
using Fleet.Chaos.Faults;
using Fleet.Protos.V1;
using Fleet.Testing.Etcd;
using Fleet.Testing.Hosting;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Fleet.Aggregator.Tests.Coordination;

/// <summary>One etcd cluster of three members for the leadership tests that keep its quorum.</summary>
public sealed class EtcdClusterFixture : IAsyncLifetime
{
    public EtcdCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync() => Cluster = await EtcdCluster.StartAsync(3);

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

/// <summary>Leader election of aggregators on a real three-member etcd cluster (docs/aggregator.md, "Several aggregators").</summary>
public sealed class EtcdLeadershipTests(EtcdClusterFixture etcd, ITestOutputHelper output) : IClassFixture<EtcdClusterFixture>
{
    // Short enough for tests, in the proportions the validator demands: 2 × 0.3 + 1 < 2.
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(300);
    private static readonly TimeSpan Margin = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task ThreeAggregators_ExactlyOneLeads_TheOthersNameIt_ACleanStopHandsOverWithinAnInterval()
    {
        var prefix = NewPrefix();
        await using var group = new LeaderGroup();
        foreach (var name in new[] { "agg-a", "agg-b", "agg-c" })
        {
            await group.StartAsync(Options(name, prefix, etcd.Cluster.Endpoints));
        }

        var leader = await group.WaitForLeaderAsync(TimeSpan.FromSeconds(15));
        var now = DateTimeOffset.UtcNow;
        var term = leader.Status(now).Term;
        Assert.Single(group.Members, m => m.IsLeader(now));
        foreach (var follower in group.Members.Where(m => m != leader))
        {
            var status = await WaitAsync(() => follower.Status(DateTimeOffset.UtcNow), s => s.Holder == leader.Name, "the follower to name the leader");
            Assert.False(status.IsLeader);
            Assert.Equal(term, status.Term);
            Assert.Equal($"{leader.Name}.example:7300", status.Address);
        }

        // A follower sends no command: the agent certainly does not act on it.
        var follower0 = group.Members.First(m => m != leader);
        var tracker = new CommandTracker(new AgentSessions(), follower0, TimeProvider.System);
        var refused = await Assert.ThrowsAsync<NotLeaderException>(() => tracker.SendAsync(new NodeKey("pg", "node1"),
            new AggregatorCommand { Fence = new FenceCommand { Mode = FenceMode.Stop } }, TimeSpan.FromSeconds(1), CancellationToken.None));
        Assert.Contains($"the leader is {leader.Name} at {leader.Name}.example:7300", refused.Message, StringComparison.Ordinal);

        var clock = Stopwatch.StartNew();
        await group.StopAsync(leader);
        // Resigning revoked the lease, which deleted the key: the successor need not wait for the old lease's TTL.
        var key = await follower0.Client.GetAsync($"{prefix}/test/leader");
        Assert.True(key.Count == 0 || key.Kvs[0].ModRevision != term, "the resigned leader's key outlived its stop");
        var next = await group.WaitForLeaderAsync(TimeSpan.FromSeconds(15));
        output.WriteLine($"{leader.Name} resigned; {next.Name} leads {clock.ElapsedMilliseconds} ms later");
        Assert.NotEqual(leader.Name, next.Name);
        Assert.True(next.Status(DateTimeOffset.UtcNow).Term > term, "a new term has a higher revision");
        // The old leader resigned (it may have acted just before): the successor assumes no quiet time before its term.
        Assert.Equal(TimeSpan.Zero, next.Status(DateTimeOffset.UtcNow).PredecessorQuiet);
    }

    [Fact]
    public async Task LeaderCutFromEtcd_StopsActingBeforeAnotherIsElected_ThenFollowsWhenHealed()
    {
        var prefix = NewPrefix();
        var proxies = etcd.Cluster.Endpoints.Select(e => TcpFaultProxy.Start(new IPEndPoint(IPAddress.Loopback, new Uri(e).Port))).ToList();
        try
        {
            await using var group = new LeaderGroup();
            var cut = await group.StartAsync(Options("agg-cut", prefix, [.. proxies.Select(p => $"http://127.0.0.1:{p.EndPoint.Port}")]));
            Assert.Same(cut, await group.WaitForLeaderAsync(TimeSpan.FromSeconds(15)));
            var others = new[] { await group.StartAsync(Options("agg-b", prefix, etcd.Cluster.Endpoints)), await group.StartAsync(Options("agg-c", prefix, etcd.Cluster.Endpoints)) };
            await WaitAsync(() => others.All(o => o.Status(DateTimeOffset.UtcNow).Holder == "agg-cut"), followed => followed, "both others to follow agg-cut");

            // Silence, not a reset: the leader's requests to etcd go unanswered.
            var cutAt = DateTimeOffset.UtcNow;
            proxies.ForEach(p => p.Partition());
            DateTimeOffset? stoppedActing = null;
            DateTimeOffset? successorActing = null;
            DateTimeOffset? lastActUntil = null;
            var overlaps = 0;
            var deadline = cutAt + TimeSpan.FromSeconds(20);
            while (successorActing is null && DateTimeOffset.UtcNow < deadline)
            {
                // Both views at one instant, as the controllers would ask them before acting.
                var now = DateTimeOffset.UtcNow;
                lastActUntil = cut.Status(now).ActUntil ?? lastActUntil;
                var (cutActs, successorActs) = (cut.IsLeader(now), others.Any(o => o.IsLeader(now)));
                overlaps += cutActs && successorActs ? 1 : 0;
                stoppedActing ??= cutActs ? null : now;
                successorActing ??= successorActs ? now : null;
                await Task.Delay(10);
            }

            output.WriteLine($"cut at 0 ms; agg-cut stopped acting at {(stoppedActing - cutAt)?.TotalMilliseconds:F0} ms; a successor acted at {(successorActing - cutAt)?.TotalMilliseconds:F0} ms");
            Assert.NotNull(successorActing);
            Assert.NotNull(stoppedActing);
            Assert.Equal(0, overlaps); // never two aggregators acting at one instant
            Assert.True(stoppedActing <= successorActing, "the cut leader was still acting when its successor began");
            Assert.False(cut.Status(DateTimeOffset.UtcNow).IsLeader);

            // The margin a successor relies on: the cut leader's last moment to act was at least StepDownMargin before
            // the successor's first, and the successor (which saw agg-cut's term end without a resignation) says so.
            var successor = others.Single(o => o.IsLeader(DateTimeOffset.UtcNow));
            Assert.NotNull(lastActUntil);
            Assert.True(successorActing >= lastActUntil + Margin,
                $"the successor acted {(successorActing - lastActUntil)?.TotalMilliseconds:F0} ms after agg-cut's last moment to act; the margin is {Margin.TotalMilliseconds:F0} ms");
            Assert.Equal(Margin, successor.Status(DateTimeOffset.UtcNow).PredecessorQuiet);

            proxies.ForEach(p => p.Heal());
            var healedAt = DateTimeOffset.UtcNow;
            var seen = await WaitAsync(() => cut.Status(DateTimeOffset.UtcNow), s => s.Holder == successor.Name, "the healed old leader to follow its successor", TimeSpan.FromSeconds(20),
                () => string.Join('\n', group.Logs.Entries));
            output.WriteLine($"healed; agg-cut follows {successor.Name} {(DateTimeOffset.UtcNow - healedAt).TotalMilliseconds:F0} ms later");
            Assert.False(seen.IsLeader);
            Assert.False(cut.IsLeader(DateTimeOffset.UtcNow));
        }
        finally
        {
            foreach (var proxy in proxies)
            {
                await proxy.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task EtcdLosesQuorum_TheLeaderStepsDown_NobodyLeads_QuorumBack_OneLeadsAgain()
    {
        await using var cluster = await EtcdCluster.StartAsync(3);
        var prefix = NewPrefix();
        await using var group = new LeaderGroup();
        await group.StartAsync(Options("agg-a", prefix, cluster.Endpoints));
        await group.StartAsync(Options("agg-b", prefix, cluster.Endpoints));
        var leader = await group.WaitForLeaderAsync(TimeSpan.FromSeconds(15));

        await cluster.StopMemberAsync(1);
        await cluster.StopMemberAsync(2);
        var lostAt = DateTimeOffset.UtcNow;
        await WaitAsync(() => group.Members.Any(m => m.IsLeader(DateTimeOffset.UtcNow)), any => !any, "the leader to step down", Ttl * 3);
        output.WriteLine($"quorum lost; {leader.Name} stopped acting {(DateTimeOffset.UtcNow - lostAt).TotalMilliseconds:F0} ms later");
        // Nobody may lead without quorum: watched for three TTLs.
        var until = DateTimeOffset.UtcNow + (Ttl * 3);
        while (DateTimeOffset.UtcNow < until)
        {
            Assert.DoesNotContain(group.Members, m => m.IsLeader(DateTimeOffset.UtcNow));
            await Task.Delay(50);
        }

        await cluster.StartMemberAsync(1);
        var back = await group.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        output.WriteLine($"quorum back; {back.Name} leads");
    }

    private static string NewPrefix() => "/fleet-test-" + Guid.NewGuid().ToString("N")[..8];

    private static CoordinationOptions Options(string name, string prefix, IReadOnlyList<string> endpoints) => new()
    {
        Mode = CoordinationMode.Etcd,
        Name = name,
        AdvertiseAddress = $"{name}.example:7300",
        Etcd = new EtcdCoordinationOptions { Endpoints = [.. endpoints], Prefix = prefix, LeaseTtl = Ttl, RenewInterval = Interval, RequestTimeout = Interval, StepDownMargin = Margin },
    };

    private static async Task<T> WaitAsync<T>(Func<T> read, Func<T, bool> done, string what, TimeSpan? timeout = null, Func<string>? context = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (true)
        {
            var value = read();
            if (done(value))
            {
                return value;
            }

            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what} (last: {value}){(context is null ? string.Empty : "\n" + context())}");
            await Task.Delay(20);
        }
    }

    /// <summary>Leadership instances of one region, each with its own etcd client, stopped cleanly at the end.</summary>
    private sealed class LeaderGroup : IAsyncDisposable
    {
        private readonly List<Member> _members = [];

        /// <summary>Every member's coordination log, for the failure message of a test.</summary>
        public CollectingLoggerProvider Logs { get; } = new();

        public IReadOnlyList<Member> Members => _members;

        public async Task<Member> StartAsync(CoordinationOptions options)
        {
            var leadership = new EtcdLeadership(Microsoft.Extensions.Options.Options.Create(options), Microsoft.Extensions.Options.Options.Create(new AggregatorOptions { Region = "test" }),
                TimeProvider.System, new Logger<EtcdLeadership>(new LoggerFactory([Logs])));
            await leadership.StartAsync(CancellationToken.None);
            var member = new Member(options.Name!, leadership);
            _members.Add(member);
            return member;
        }

        public async Task<Member> WaitForLeaderAsync(TimeSpan timeout) =>
            (await WaitAsync(() => _members.FirstOrDefault(m => m.IsLeader(DateTimeOffset.UtcNow)), m => m is not null, "a leader", timeout))!;

        public async Task StopAsync(Member member)
        {
            _members.Remove(member);
            await member.DisposeAsync();
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var member in _members)
            {
                await member.DisposeAsync();
            }
        }
    }

    private sealed class Member(string name, EtcdLeadership leadership) : ILeadership, IAsyncDisposable
    {
        public string Name { get; } = name;

        public bool IsLeader(DateTimeOffset now) => leadership.IsLeader(now);

        public dotnet_etcd.EtcdClient Client => leadership.Client;

        public LeadershipStatus Status(DateTimeOffset now) => leadership.Status(now);

        public async ValueTask DisposeAsync()
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await leadership.StopAsync(stop.Token);
            leadership.Dispose();
        }
    }
}
