using Fleet.Hosting.Grpc;
using Fleet.Protos.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Fleet.EndToEnd.Tests.Infrastructure;

/// <summary>fleet.v1.FleetService calls (the aggregator's operator API), each with a deadline.</summary>
public sealed class FleetServiceClient(Uri address) : IDisposable
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(10);
    private readonly GrpcChannel _channel = GrpcChannels.ForAddress(address);
    private FleetService.FleetServiceClient Client => new(_channel);

    public Task<ListClustersResponse> ListClustersAsync() => Client.ListClustersAsync(new ListClustersRequest(), Deadline()).ResponseAsync;

    public Task<Cluster> GetClusterAsync(string cluster) => Client.GetClusterAsync(new GetClusterRequest { Cluster = cluster }, Deadline()).ResponseAsync;

    public Task<Node> GetNodeAsync(string cluster, string node) => Client.GetNodeAsync(new GetNodeRequest { Cluster = cluster, Node = node }, Deadline()).ResponseAsync;

    public Task<ListAlertsResponse> ListAlertsAsync(ListAlertsRequest request) => Client.ListAlertsAsync(request, Deadline()).ResponseAsync;

    public Task<ListEventsResponse> ListEventsAsync(ListEventsRequest request) => Client.ListEventsAsync(request, Deadline()).ResponseAsync;

    /// <summary>A watch runs until <paramref name="cancellationToken"/> is cancelled or the call is disposed.</summary>
    public AsyncServerStreamingCall<FleetChange> Watch(WatchRequest request, CancellationToken cancellationToken) =>
        Client.Watch(request, cancellationToken: cancellationToken);

    /// <summary>Manual failover; returns when it completed, was refused or failed (a minute at most).</summary>
    public Task<RoleChangeResponse> FailoverAsync(FailoverRequest request) => Client.FailoverAsync(request, Deadline(TimeSpan.FromSeconds(60))).ResponseAsync;

    public void Dispose() => _channel.Dispose();

    private static CallOptions Deadline(TimeSpan? timeout = null) => new(deadline: DateTime.UtcNow + (timeout ?? CallTimeout));
}

/// <summary>fleet.v1.AgentService calls (one agent's local API).</summary>
public sealed class AgentServiceClient(Uri address) : IDisposable
{
    private readonly GrpcChannel _channel = GrpcChannels.ForAddress(address);

    public Task<GetStatusResponse> GetStatusAsync() =>
        new AgentService.AgentServiceClient(_channel).GetStatusAsync(new GetStatusRequest(), new CallOptions(deadline: DateTime.UtcNow + TimeSpan.FromSeconds(10))).ResponseAsync;

    /// <summary>Operator Promote of this agent's node (AgentService.Promote) under <paramref name="epoch"/>.</summary>
    public Task<ActionResponse> PromoteAsync(ulong epoch, string reason) =>
        new AgentService.AgentServiceClient(_channel).PromoteAsync(
            new PromoteRequest { Epoch = epoch, Operator = new OperatorContext { Operator = "e2e", Reason = reason } },
            new CallOptions(deadline: DateTime.UtcNow + TimeSpan.FromSeconds(60))).ResponseAsync;

    public void Dispose() => _channel.Dispose();
}
