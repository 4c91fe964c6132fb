using System.Diagnostics;
using Fleet.EndToEnd.Tests.Infrastructure;
using Fleet.Protos.V1;
using Grpc.Core;
using Fleet.Testing;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Fleet.EndToEnd.Tests;

/// <summary>
/// Malformed and hostile AgentLink traffic against the aggregator's gRPC port: each stream is refused
/// with a precise status, and the fleet's three real agents stay connected and reporting throughout.
/// Fake identities live in their own clusters so the real cluster stays as it is.
/// </summary>
[Collection(SharedFleetCollection.Name)]
public sealed class HostileLinkTrafficTests(SharedFleetFixture fixture)
{
    private const string ProbeCluster = "e2e-probe";
    private const string FloodCluster = "e2e-flood";
    private const int FloodSize = 200;
    private const int FloodConnections = 4;
    private const string IdentityRule = "hello identity must have name, cluster and region of 1..128 characters from [A-Za-z0-9._-]";
    private static readonly TimeSpan FloodTimeout = TimeSpan.FromSeconds(90);
    private static int s_probeNumber;

    public static TheoryData<string, byte[], StatusCode, string> GarbageBodies => new()
    {
        { "compressed flag 7", LinkProbe.Frame(LinkProbe.Hello(ProbeCluster, "garbage").ToByteArray(), flag: 7), StatusCode.Internal, "Invalid frame: " },
        { "bytes that are no protobuf", LinkProbe.Frame([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]), StatusCode.Internal, "Failed to deserialize AgentMessage" },
        { "frame cut short", LinkProbe.Frame(new byte[10], declaredLength: 100), StatusCode.Internal, "Incomplete message" },
        { "header cut short", [0, 0, 0], StatusCode.Internal, "Incomplete message" },
    };

    [Theory]
    [MemberData(nameof(GarbageBodies))]
    public async Task Connect_GarbageBytes_IsInternal(string what, byte[] body, StatusCode expected, string detail)
    {
        var status = await fixture.Link.PostRawAsync(body).DefaultTimeout();

        Assert.True(expected == status.StatusCode, $"{what}: {status}");
        Assert.Contains(detail, status.Detail, StringComparison.Ordinal);
        await AssertUndisturbedAsync();
    }

    [Fact]
    public async Task Connect_HelloLargerThanMaxMessageBytes_IsResourceExhausted()
    {
        var hello = LinkProbe.Hello(ProbeCluster, NextName());
        hello.Hello.Identity.Zone = new string('z', SharedFleetFixture.MaxMessageBytes + 1000);

        var status = await fixture.Link.PostRawAsync(LinkProbe.Frame(hello)).DefaultTimeout();

        Assert.Equal(StatusCode.ResourceExhausted, status.StatusCode);
        Assert.Equal("Received message exceeds the maximum configured message size.", status.Detail);
        await AssertUndisturbedAsync();
    }

    [Fact]
    public async Task Connect_FrameDeclaringTwoGigabytes_IsResourceExhaustedBeforeBuffering()
    {
        var status = await fixture.Link.PostRawAsync(LinkProbe.Frame([], declaredLength: int.MaxValue)).DefaultTimeout();

        Assert.Equal(StatusCode.ResourceExhausted, status.StatusCode);
        Assert.Equal("Received message exceeds the maximum configured message size.", status.Detail);
        await AssertUndisturbedAsync();
    }

    [Fact]
    public async Task Connect_AdmittedAgentSendsOversizedReport_IsResourceExhausted()
    {
        var report = new AgentMessage { Report = new AgentReport { Sequence = 1, Snapshot = new NodeSnapshot { PostgresError = new string('e', SharedFleetFixture.MaxMessageBytes) } } };
        var name = NextName();

        var status = await fixture.Link.PostRawAsync([.. LinkProbe.Frame(LinkProbe.Hello(ProbeCluster, name)), .. LinkProbe.Frame(report)]).DefaultTimeout();

        Assert.Equal(StatusCode.ResourceExhausted, status.StatusCode);
        Assert.Equal("Received message exceeds the maximum configured message size.", status.Detail);
        // It was admitted first, and its oversized report never reached the fleet state.
        var node = await fixture.Api.GetNodeAsync(ProbeCluster, name).DefaultTimeout();
        Assert.Null(node.LastReportAt);
        Assert.Equal(PostgresState.Unspecified, node.PostgresState);
        await AssertUndisturbedAsync();
    }

    [Fact]
    public async Task Connect_ReportBeforeHello_IsInvalidArgument()
    {
        var outcome = await fixture.Link.ExchangeAsync(new AgentMessage { Report = new AgentReport { Sequence = 1, Snapshot = new NodeSnapshot() } }).DefaultTimeout();

        Assert.Equal(new Status(StatusCode.InvalidArgument, "the first message must be a hello, not Report"), outcome.Status);
        Assert.Empty(outcome.Received);
        Assert.Contains(fixture.AggregatorLogs.Entries, e => e.EventId.Id == 3004 && e.Message.EndsWith("the first message must be a hello, not Report", StringComparison.Ordinal));
        await AssertUndisturbedAsync();
    }

    [Fact]
    public async Task Connect_EmptyMessageFirst_IsInvalidArgument()
    {
        var outcome = await fixture.Link.ExchangeAsync(new AgentMessage()).DefaultTimeout();

        Assert.Equal(new Status(StatusCode.InvalidArgument, "the first message must be a hello, not None"), outcome.Status);
        await AssertUndisturbedAsync();
    }

    public static TheoryData<string> InvalidIdentities => new()
    {
        "no identity", "empty name", "10 KB name", "slash in name", "space in name", "non-ASCII name",
        "control character in name", "bad cluster", "empty region", "200-character zone",
    };

    [Theory]
    [MemberData(nameof(InvalidIdentities))]
    public async Task Connect_HelloWithInvalidIdentity_IsInvalidArgument(string what)
    {
        var hello = new AgentMessage { Hello = new AgentHello { Identity = InvalidIdentity(what), AgentVersion = "e2e-probe", InstanceId = Guid.NewGuid().ToString("N") } };

        var outcome = await fixture.Link.ExchangeAsync(hello).DefaultTimeout();

        Assert.True(outcome.Status.StatusCode == StatusCode.InvalidArgument, $"{what}: {outcome.Status}");
        Assert.Equal(IdentityRule, outcome.Status.Detail);
        Assert.Empty(outcome.Received);
        var clusters = await fixture.Api.ListClustersAsync().DefaultTimeout();
        Assert.Equal(3u, Assert.Single(clusters.Clusters, c => c.Name == FleetFixture.Cluster).NodeCount);
        await AssertUndisturbedAsync();
    }

    [Fact]
    public async Task Connect_Welcome_CarriesTheDetectionTimingEveryAgentApplies()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var call = fixture.Link.Open(timeout.Token);
        await call.RequestStream.WriteAsync(LinkProbe.Hello(ProbeCluster, NextName()), timeout.Token);
        Assert.True(await call.ResponseStream.MoveNext(timeout.Token));

        // Failover:ReplicationTimeout and Failover:FailoverTimeout, the defaults (docs/failover.md, "Detection").
        Assert.Equal(
            new DetectionSettings { ReplicationTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(2)), UnresponsiveTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(3)) },
            call.ResponseStream.Current.Welcome.Detection);
    }

    [Fact]
    public async Task Connect_SecondHelloOnOneStream_IsInvalidArgument()
    {
        var name = NextName();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var call = fixture.Link.Open(timeout.Token);
        await call.RequestStream.WriteAsync(LinkProbe.Hello(ProbeCluster, name), timeout.Token);
        Assert.True(await call.ResponseStream.MoveNext(timeout.Token));
        Assert.True(call.ResponseStream.Current.Welcome.Accepted);

        await call.RequestStream.WriteAsync(LinkProbe.Hello(ProbeCluster, name), timeout.Token);
        var outcome = await LinkProbe.ReadToEndAsync(call, timeout.Token);

        Assert.Equal(new Status(StatusCode.InvalidArgument, "hello sent twice on one stream"), outcome.Status);
        // The stream's node is let go: disconnected, not held by a dead stream.
        var node = await Poll.UntilAsync(
            () => fixture.Api.GetNodeAsync(ProbeCluster, name), n => n.Presence == AgentPresence.Disconnected, FleetFixture.ConditionTimeout, $"{name} to be disconnected");
        Assert.Equal(name, node.Identity.Name);
        await AssertUndisturbedAsync();
    }

    [Fact]
    public async Task Connect_SilentStream_IsDeadlineExceededAfterHelloTimeout()
    {
        var clock = Stopwatch.StartNew();

        var status = await fixture.Link.PostSilentAsync().DefaultTimeout();

        Assert.Equal(new Status(StatusCode.DeadlineExceeded, "no hello within 1 s"), status);
        Assert.InRange(clock.Elapsed, SharedFleetFixture.HelloTimeout * 0.9, SharedFleetFixture.HelloTimeout + TimeSpan.FromSeconds(10));
        await AssertUndisturbedAsync();
    }

    [Fact]
    public async Task Connect_FloodOfHellosClaimingLiveNode_AllAlreadyExists()
    {
        var refusedBefore = await fixture.ReadMetricAsync("fleet_ingest_agents_refused_total{reason=\"duplicate\"}").DefaultTimeout();
        var holder = await fixture.Api.GetNodeAsync(FleetFixture.Cluster, "node1").DefaultTimeout();

        var probes = NewProbes();
        LinkOutcome[] outcomes;
        try
        {
            outcomes = await Task.WhenAll(Enumerable.Range(0, FloodSize)
                .Select(i => Task.Run(() => probes[i % probes.Count].ExchangeAsync(LinkProbe.Hello(FleetFixture.Cluster, "node1"))))).WaitAsync(FloodTimeout);
        }
        finally
        {
            probes.ForEach(p => p.Dispose());
        }

        Assert.All(outcomes, o =>
        {
            Assert.Equal(StatusCode.AlreadyExists, o.Status.StatusCode);
            Assert.StartsWith("node demo/node1 is already connected from ", o.Status.Detail, StringComparison.Ordinal);
            Assert.Empty(o.Received);
        });
        var refused = await fixture.ReadMetricAsync("fleet_ingest_agents_refused_total{reason=\"duplicate\"}").DefaultTimeout();
        Assert.True(refused >= refusedBefore + FloodSize, $"duplicate refusals went from {refusedBefore} to {refused}");
        // node1 is still the real agent's: same zone and version as before the flood.
        var node1 = await fixture.Api.GetNodeAsync(FleetFixture.Cluster, "node1").DefaultTimeout();
        Assert.Equal(holder.Identity, node1.Identity);
        Assert.Equal(holder.AgentVersion, node1.AgentVersion);
        await AssertUndisturbedAsync();
    }

    [Fact]
    public async Task Connect_FloodOfDistinctIdentities_AdmittedThenClosedCleanly()
    {
        var admittedBefore = await fixture.ReadMetricAsync("fleet_ingest_agents_admitted_total").DefaultTimeout();
        using var timeout = new CancellationTokenSource(FloodTimeout);
        var probes = NewProbes();
        var calls = Enumerable.Range(0, FloodSize).Select(i => probes[i % probes.Count].Open(timeout.Token)).ToList();
        try
        {
            // Every stream says hello and is welcomed, all at once.
            var welcomes = await Task.WhenAll(calls.Select((call, i) => Task.Run(async () =>
            {
                await call.RequestStream.WriteAsync(LinkProbe.Hello(FloodCluster, $"flood-{i:D3}"), timeout.Token);
                return await call.ResponseStream.MoveNext(timeout.Token) ? call.ResponseStream.Current.Welcome : null;
            }))).WaitAsync(FloodTimeout);
            Assert.All(welcomes, w =>
            {
                Assert.NotNull(w);
                Assert.True(w.Accepted);
                Assert.Equal(FleetFixture.Region, w.Region);
            });
            var open = await fixture.Api.ListClustersAsync().DefaultTimeout();
            var flood = Assert.Single(open.Clusters, c => c.Name == FloodCluster);
            Assert.Equal((uint)FloodSize, flood.NodeCount);
            Assert.Equal((uint)FloodSize, flood.ConnectedNodeCount);

            // Every stream ends its side; the aggregator ends each with OK.
            await Task.WhenAll(calls.Select(c => c.RequestStream.CompleteAsync())).WaitAsync(FloodTimeout);
            var outcomes = await Task.WhenAll(calls.Select(c => LinkProbe.ReadToEndAsync(c, timeout.Token))).WaitAsync(FloodTimeout);
            Assert.All(outcomes, o =>
            {
                Assert.Equal(StatusCode.OK, o.Status.StatusCode);
                Assert.Empty(o.Received);
            });
        }
        finally
        {
            calls.ForEach(c => c.Dispose());
            probes.ForEach(p => p.Dispose());
        }

        var closed = await Poll.UntilAsync(
            () => fixture.Api.GetClusterAsync(FloodCluster),
            c => c.Summary.ConnectedNodeCount == 0,
            FleetFixture.ConditionTimeout,
            "every flood node to be disconnected",
            c => $"{c.Summary.ConnectedNodeCount} connected");
        Assert.Equal(FloodSize, closed.Nodes.Count);
        Assert.All(closed.Nodes, n => Assert.Equal(AgentPresence.Disconnected, n.Presence));
        var admitted = await fixture.ReadMetricAsync("fleet_ingest_agents_admitted_total").DefaultTimeout();
        Assert.True(admitted >= admittedBefore + FloodSize, $"admissions went from {admittedBefore} to {admitted}");
        await AssertUndisturbedAsync();
    }

    [Fact]
    public async Task Connect_AdmittedStreamsResetByClient_AreLoggedAsCancellationNotError()
    {
        // An agent process that dies mid-stream resets it (RST_STREAM CANCEL). Kestrel fails the
        // handler's read with IOException before it cancels RequestAborted, so a server that only
        // recognises cancellation by RequestAborted logs some of these resets as handler errors.
        using var probe = new LinkProbe(fixture.Fleet.AggregatorGrpc);
        var names = Enumerable.Range(0, 20).Select(_ => NextName()).ToList();
        foreach (var name in names)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            var call = probe.Open(timeout.Token);
            await call.RequestStream.WriteAsync(LinkProbe.Hello(ProbeCluster, name), timeout.Token);
            Assert.True(await call.ResponseStream.MoveNext(timeout.Token));
            call.Dispose();
        }

        await Poll.UntilAsync(
            () => fixture.Api.GetClusterAsync(ProbeCluster),
            c => names.All(name => c.Nodes.Any(n => n.Identity.Name == name && n.Presence == AgentPresence.Disconnected)),
            FleetFixture.ConditionTimeout,
            "every reset stream's node to be disconnected");
        await AssertUndisturbedAsync();
    }

    [Fact]
    public async Task Connect_SecondAgentProcessClaimingNode1_IsRefusedAlreadyExists()
    {
        var holder = await fixture.Api.GetNodeAsync(FleetFixture.Cluster, "node1").DefaultTimeout();

        // A real agent process, reading node1's Postgres, configured with node1's identity.
        var since = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow);
        await using var duplicate = await fixture.StartExtraAgentAsync(postgresNode: 1, new Dictionary<string, string?> { ["Node:Name"] = "node1" });

        var status = await Poll.UntilAsync(
            duplicate.Client.GetStatusAsync,
            s => s.Link.State == LinkState.Rejected,
            FleetFixture.ConditionTimeout,
            "the duplicate agent's link to be REJECTED",
            s => $"{s.Link.State} '{s.Link.LastError}'");
        Assert.StartsWith("node demo/node1 is already connected from ", status.Link.LastError, StringComparison.Ordinal);
        Assert.EndsWith("(another agent process claims the same identity)", status.Link.LastError, StringComparison.Ordinal);
        var events = await Poll.UntilAsync(
            () => fixture.Api.ListEventsAsync(new ListEventsRequest { Kind = EventKind.AgentRejected, Cluster = FleetFixture.Cluster, Node = "node1", Since = since }),
            r => r.Events.Count > 0,
            FleetFixture.ConditionTimeout,
            "an AGENT_REJECTED event for the duplicate node1");
        Assert.Contains(events.Events, e => e.Reasons.Single() == status.Link.LastError);

        // The real node1 keeps its place: its zone is zone-b, the duplicate's would be zone-extra.
        var node1 = await fixture.Api.GetNodeAsync(FleetFixture.Cluster, "node1").DefaultTimeout();
        Assert.Equal("zone-b", node1.Identity.Zone);
        Assert.Equal(holder.Identity, node1.Identity);
        await AssertUndisturbedAsync();
    }

    private static NodeIdentity? InvalidIdentity(string what) => what switch
    {
        "no identity" => null,
        "empty name" => new NodeIdentity { Name = string.Empty, Cluster = ProbeCluster, Region = FleetFixture.Region },
        "10 KB name" => new NodeIdentity { Name = new string('n', 10 * 1024), Cluster = ProbeCluster, Region = FleetFixture.Region },
        "slash in name" => new NodeIdentity { Name = "node/../node0", Cluster = ProbeCluster, Region = FleetFixture.Region },
        "space in name" => new NodeIdentity { Name = "node 1", Cluster = ProbeCluster, Region = FleetFixture.Region },
        "non-ASCII name" => new NodeIdentity { Name = "n\u00f6de1", Cluster = ProbeCluster, Region = FleetFixture.Region },
        "control character in name" => new NodeIdentity { Name = "node\n1", Cluster = ProbeCluster, Region = FleetFixture.Region },
        "bad cluster" => new NodeIdentity { Name = "node1", Cluster = "demo';--", Region = FleetFixture.Region },
        "empty region" => new NodeIdentity { Name = "node1", Cluster = ProbeCluster, Region = string.Empty },
        "200-character zone" => new NodeIdentity { Name = "node1", Cluster = ProbeCluster, Region = FleetFixture.Region, Zone = new string('z', 200) },
        _ => throw new ArgumentOutOfRangeException(nameof(what), what, "no such case"),
    };

    /// <summary>
    /// Flood streams go over several connections, as from several agent processes: one HTTP/2
    /// connection carries at most 100 concurrent streams (Kestrel's default), and Kestrel answers
    /// ENHANCE_YOUR_CALM on a connection with twice that many streams not yet cleaned up.
    /// </summary>
    private List<LinkProbe> NewProbes() => [.. Enumerable.Range(0, FloodConnections).Select(_ => new LinkProbe(fixture.Fleet.AggregatorGrpc))];

    private static string NextName() => $"probe-{Interlocked.Increment(ref s_probeNumber):D4}-{Environment.ProcessId}";

    /// <summary>
    /// The real agents were not disturbed: they report after the traffic ended, the cluster is whole,
    /// none of them disconnected or reconnected during the test, and the aggregator logged no error.
    /// </summary>
    private async Task AssertUndisturbedAsync([System.Runtime.CompilerServices.CallerMemberName] string test = "")
    {
        var end = DateTimeOffset.UtcNow;
        var cluster = await fixture.WaitForReportsAfterAsync(end);
        Assert.Equal(FleetFixture.NodeNames, cluster.Nodes.Select(n => n.Identity.Name));
        var presence = await fixture.Api.ListEventsAsync(new ListEventsRequest
        {
            Cluster = FleetFixture.Cluster,
            Kind = EventKind.NodePresence,
            Since = Timestamp.FromDateTimeOffset(fixture.StartedAt),
        }).DefaultTimeout();
        Assert.All(presence.Events, e => Assert.StartsWith("node appeared", e.Message, StringComparison.Ordinal));
        Assert.True(fixture.AggregatorLogs.Errors.ToList() is { Count: 0 }, $"{test}: the aggregator logged errors:\n{string.Join('\n', fixture.AggregatorLogs.Errors)}");
    }
}
