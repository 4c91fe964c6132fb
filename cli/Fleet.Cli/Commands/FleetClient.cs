using Fleet.Protos.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Fleet.Cli.Commands;

/// <summary>The FleetService and AgentService calls fleetctl makes, each bounded by the command's timeout.</summary>
internal sealed class FleetClient(GrpcChannel channel, TimeSpan timeout)
{
    private readonly FleetService.FleetServiceClient _fleet = new(channel);
    private readonly AgentService.AgentServiceClient _agent = new(channel);

    public Task<ListClustersResponse> ListClustersAsync(CancellationToken ct) => _fleet.ListClustersAsync(new ListClustersRequest(), Options(ct)).ResponseAsync;

    public Task<Cluster> GetClusterAsync(string cluster, CancellationToken ct) => _fleet.GetClusterAsync(new GetClusterRequest { Cluster = cluster }, Options(ct)).ResponseAsync;

    public Task<Node> GetNodeAsync(string cluster, string node, CancellationToken ct) =>
        _fleet.GetNodeAsync(new GetNodeRequest { Cluster = cluster, Node = node }, Options(ct)).ResponseAsync;

    public Task<ListAlertsResponse> ListAlertsAsync(ListAlertsRequest request, CancellationToken ct) => _fleet.ListAlertsAsync(request, Options(ct)).ResponseAsync;

    public Task<ListEventsResponse> ListEventsAsync(ListEventsRequest request, CancellationToken ct) => _fleet.ListEventsAsync(request, Options(ct)).ResponseAsync;

    public Task<GetStatusResponse> GetAgentStatusAsync(CancellationToken ct) => _agent.GetStatusAsync(new GetStatusRequest(), Options(ct)).ResponseAsync;

    /// <summary>A watch has no deadline: it runs until cancelled.</summary>
    public AsyncServerStreamingCall<FleetChange> Watch(WatchRequest request, CancellationToken ct) => _fleet.Watch(request, cancellationToken: ct);

    private CallOptions Options(CancellationToken ct) => new(deadline: DateTime.UtcNow + timeout, cancellationToken: ct);
}
