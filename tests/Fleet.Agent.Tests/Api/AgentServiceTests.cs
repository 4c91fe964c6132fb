using Fleet.Agent.State;
using Fleet.Agent.Tests.Host;
using Fleet.Protos.V1;
using Grpc.Core;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Health.V1;
using Grpc.Reflection.V1;

namespace Fleet.Agent.Tests.Api;

/// <summary>fleet.v1.AgentService over real gRPC (Grpc.Net.Client, HTTP/2) against standalone agents of a real primary and replica.</summary>
[Collection(SharedClusterAgentsGroup.Name)]
public sealed class AgentServiceTests(SharedClusterAgentsFixture fixture)
{
    [Fact]
    public async Task GetStatus_Primary_IdentityTagsVersionUptimeAndSnapshot()
    {
        var before = DateTimeOffset.UtcNow;
        var status = await fixture.PrimaryAgent.GetStatusAsync();

        Assert.Equal(new NodeIdentity { Name = "node0", Cluster = "agent-tests", Region = "test-region", Zone = "zone-a" }, status.Identity);
        Assert.Equal(new NodeTags { NoFailover = false, CandidatePriority = 100 }, status.Tags);
        Assert.Equal(NodeRole.Primary, status.Role);
        Assert.Equal(PostgresState.Up, status.PostgresState);
        Assert.False(string.IsNullOrEmpty(status.AgentVersion));
        Assert.Equal(AgentState.Version, status.AgentVersion);
        Assert.True(status.StartedAt.ToDateTimeOffset() <= before, $"started_at {status.StartedAt} is after the call");
        Assert.True(status.Uptime.ToTimeSpan() > TimeSpan.Zero, $"uptime {status.Uptime}");
        Assert.True(status.Uptime.ToTimeSpan() >= before - status.StartedAt.ToDateTimeOffset() - TimeSpan.FromMilliseconds(1));
        Assert.False(status.Fenced);
        Assert.Equal(0UL, status.HighestEpochSeen);
        Assert.Equal(NodeRole.Primary, status.Snapshot.Role);
        Assert.NotEqual(0UL, status.Snapshot.SystemIdentifier);
        Assert.NotNull(status.Snapshot.Primary);
    }

    [Fact]
    public async Task GetStatus_Replica_TagsFromConfigurationAndStreamingSnapshot()
    {
        var status = await fixture.ReplicaAgent.GetStatusAsync();
        var primary = await fixture.PrimaryAgent.GetStatusAsync();

        Assert.Equal("node1", status.Identity.Name);
        Assert.Equal("zone-b", status.Identity.Zone);
        Assert.Equal(new NodeTags { NoFailover = true, CandidatePriority = 250 }, status.Tags);
        Assert.Equal(NodeRole.Replica, status.Role);
        Assert.Equal("streaming", status.Snapshot.Replica.WalReceiver.Status);
        Assert.Equal(primary.Snapshot.SystemIdentifier, status.Snapshot.SystemIdentifier);
    }

    [Fact]
    public async Task GetStatus_Standalone_LinkDisabled()
    {
        var status = await fixture.PrimaryAgent.GetStatusAsync();

        Assert.Equal(LinkState.Disabled, status.Link.State);
        Assert.Equal("", status.Link.Address);
        Assert.Equal("", status.Link.LastError);
        Assert.Equal(0UL, status.Link.LastReportSequence);
        Assert.DoesNotContain("fleet_agent_link_connected", (await fixture.PrimaryAgent.GetAsync("/metrics")).Body, StringComparison.Ordinal);
    }

    /// <summary>The agent's own collection figures on /metrics move with real cycles (they once stayed 0 and absent).</summary>
    [Fact]
    public async Task Metrics_CollectionCyclesCount_AndTheLastCycleDurationIsExported()
    {
        var before = Sample((await fixture.ReplicaAgent.GetAsync("/metrics")).Body, "fleet_agent_collection_cycles_total");
        await fixture.ReplicaAgent.Client.CollectNowAsync();
        var body = (await fixture.ReplicaAgent.GetAsync("/metrics")).Body;

        Assert.True(Sample(body, "fleet_agent_collection_cycles_total") > before, $"cycles did not move from {before}");
        Assert.Equal(0, Sample(body, "fleet_agent_collection_failures_total"));
        var duration = Sample(body, "fleet_agent_collection_last_duration_seconds");
        Assert.InRange(duration, 1e-6, 10);
    }

    private static double Sample(string exposition, string name) =>
        exposition.Split('\n').Where(l => l.StartsWith(name + " ", StringComparison.Ordinal))
            .Select(l => double.Parse(l[(name.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture))
            .DefaultIfEmpty(double.NaN).Single() is var value && !double.IsNaN(value) ? value : throw new Xunit.Sdk.XunitException($"{name} is not exported");

    [Fact]
    public async Task CollectNow_ReturnsAFreshSnapshotThatGetStatusThenShows()
    {
        var before = await fixture.ReplicaAgent.GetStatusAsync();

        var collected = await fixture.ReplicaAgent.Client.CollectNowAsync();
        var after = await fixture.ReplicaAgent.GetStatusAsync();

        Assert.True(
            collected.Snapshot.CollectedAt.ToDateTimeOffset() > before.Snapshot.CollectedAt.ToDateTimeOffset(),
            $"collected_at {collected.Snapshot.CollectedAt} is not newer than {before.Snapshot.CollectedAt}");
        Assert.Equal(PostgresState.Up, collected.Snapshot.PostgresState);
        Assert.Equal(NodeRole.Replica, collected.Snapshot.Role);
        Assert.True(after.Snapshot.CollectedAt.ToDateTimeOffset() >= collected.Snapshot.CollectedAt.ToDateTimeOffset());
    }

    [Fact]
    public async Task OperatorMethods_WithoutReason_InvalidArgumentAndNothingChanges()
    {
        // Requests without an operator reason are refused before anything runs on the shared cluster
        // (the operator actions themselves are tested in OperatorActionsTests, on a cluster of their own).
        Assert.Equal(StatusCode.InvalidArgument, await StatusOfAsync("Promote", new PromoteRequest()));
        Assert.Equal(StatusCode.InvalidArgument, await StatusOfAsync("Fence", new FenceRequest()));
        Assert.Equal(StatusCode.InvalidArgument, await StatusOfAsync("Follow", new FollowRequest()));
        Assert.Equal(StatusCode.InvalidArgument, await StatusOfAsync("Rejoin", new RejoinRequest()));
        var status = await fixture.PrimaryAgent.GetStatusAsync();
        Assert.Equal(0UL, status.HighestEpochSeen);
        Assert.False(status.Fenced);
    }

    [Fact]
    public async Task Reflection_ListsAgentServiceHealthAndReflection()
    {
        using var call = new ServerReflection.ServerReflectionClient(fixture.PrimaryAgent.Channel).ServerReflectionInfo();
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" }).WaitAsync(RunningAgent.CallTimeout);
        Assert.True(await call.ResponseStream.MoveNext().WaitAsync(RunningAgent.CallTimeout));
        var services = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
        await call.RequestStream.CompleteAsync().WaitAsync(RunningAgent.CallTimeout);

        Assert.Contains("fleet.v1.AgentService", services);
        Assert.Contains("grpc.health.v1.Health", services);
        Assert.Contains("grpc.reflection.v1.ServerReflection", services);
    }

    [Fact]
    public async Task Reflection_DescribesAgentServiceWithEveryMethod()
    {
        using var call = new ServerReflection.ServerReflectionClient(fixture.PrimaryAgent.Channel).ServerReflectionInfo();
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { FileContainingSymbol = "fleet.v1.AgentService" }).WaitAsync(RunningAgent.CallTimeout);
        Assert.True(await call.ResponseStream.MoveNext().WaitAsync(RunningAgent.CallTimeout));
        var files = call.ResponseStream.Current.FileDescriptorResponse.FileDescriptorProto.Select(FileDescriptorProto.Parser.ParseFrom).ToList();
        await call.RequestStream.CompleteAsync().WaitAsync(RunningAgent.CallTimeout);

        var agent = Assert.Single(files, f => f.Name == "fleet/v1/agent.proto");
        Assert.Equal(
            ["GetStatus", "CollectNow", "VerifyArchive", "Promote", "Fence", "Follow", "Rejoin"],
            agent.Service.Single(s => s.Name == "AgentService").Method.Select(m => m.Name));
    }

    [Theory]
    [InlineData("")]
    [InlineData("fleet.v1.AgentService")]
    public async Task Health_Check_Serving(string service)
    {
        var response = await new Health.HealthClient(fixture.ReplicaAgent.Channel)
            .CheckAsync(new HealthCheckRequest { Service = service }).ResponseAsync.WaitAsync(RunningAgent.CallTimeout);

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, response.Status);
    }

    [Fact]
    public async Task GrpcPathOnHttpPort_RefusedAsNotHttp2()
    {
        // The HTTP/1.1 listener is for load balancers and Prometheus; gRPC needs the HTTP/2 listener.
        using var content = new ByteArrayContent([]);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/grpc");
        using var response = await fixture.PrimaryAgent.Http.PostAsync("/fleet.v1.AgentService/GetStatus", content).WaitAsync(RunningAgent.CallTimeout);

        Assert.Equal(System.Net.HttpStatusCode.UpgradeRequired, response.StatusCode);
    }

    private async Task<StatusCode> StatusOfAsync<TRequest>(string name, TRequest request)
        where TRequest : class, IMessage<TRequest>
    {
        var error = await Assert.ThrowsAsync<RpcException>(
                () => AgentClient.OperatorAction(fixture.PrimaryAgent.Channel, name, request, new CallOptions(deadline: DateTime.UtcNow + RunningAgent.CallTimeout)).ResponseAsync)
            .WaitAsync(RunningAgent.CallTimeout);
        return error.StatusCode;
    }
}
