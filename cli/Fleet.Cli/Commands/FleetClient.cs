using Fleet.Protos.V1;
using Fleet.Rpc;
using Fleet.Rpc.Client;

namespace Fleet.Cli.Commands;

/// <summary>Typed FleetService and AgentService calls over Fleet.Rpc, built from the service descriptors.</summary>
internal sealed class FleetClient(GrpcChannel channel, TimeSpan timeout)
{
    private static readonly Google.Protobuf.Reflection.ServiceDescriptor Fleet = FleetReflection.Descriptor.Services.Single(s => s.Name == "FleetService");
    private static readonly Google.Protobuf.Reflection.ServiceDescriptor Agent = AgentReflection.Descriptor.Services.Single(s => s.Name == "AgentService");

    public Task<ListClustersResponse> ListClustersAsync(CancellationToken ct) => Unary<ListClustersRequest, ListClustersResponse>(Fleet, "ListClusters", new(), ct);

    public Task<Cluster> GetClusterAsync(string cluster, CancellationToken ct) => Unary<GetClusterRequest, Cluster>(Fleet, "GetCluster", new() { Cluster = cluster }, ct);

    public Task<Node> GetNodeAsync(string cluster, string node, CancellationToken ct) =>
        Unary<GetNodeRequest, Node>(Fleet, "GetNode", new() { Cluster = cluster, Node = node }, ct);

    public Task<ListAlertsResponse> ListAlertsAsync(ListAlertsRequest request, CancellationToken ct) => Unary<ListAlertsRequest, ListAlertsResponse>(Fleet, "ListAlerts", request, ct);

    public Task<ListEventsResponse> ListEventsAsync(ListEventsRequest request, CancellationToken ct) => Unary<ListEventsRequest, ListEventsResponse>(Fleet, "ListEvents", request, ct);

    public Task<GetStatusResponse> GetAgentStatusAsync(CancellationToken ct) => Unary<GetStatusRequest, GetStatusResponse>(Agent, "GetStatus", new(), ct);

    /// <summary>A watch has no deadline: it runs until cancelled.</summary>
    public AsyncServerStreamingCall<FleetChange> Watch(WatchRequest request, CancellationToken ct) =>
        channel.ServerStreamingCall(Method<WatchRequest, FleetChange>.FromDescriptor(Fleet.GetMethod("Watch")), request, new CallOptions(cancellationToken: ct));

    private async Task<TResponse> Unary<TRequest, TResponse>(Google.Protobuf.Reflection.ServiceDescriptor service, string name, TRequest request, CancellationToken ct)
        where TRequest : class, Google.Protobuf.IMessage<TRequest>
        where TResponse : class, Google.Protobuf.IMessage<TResponse>
    {
        var method = Method<TRequest, TResponse>.FromDescriptor(service.GetMethod(name));
        using var call = channel.UnaryCall(method, request, new CallOptions(cancellationToken: ct).WithTimeout(timeout));
        return await call.ResponseAsync;
    }
}
