using Fleet.Protos.V1;
using Fleet.Rpc;
using Fleet.Rpc.Client;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Fleet.EndToEnd.Tests.Infrastructure;

/// <summary>Typed fleet.v1.FleetService calls (the aggregator's operator API), each with a deadline.</summary>
public sealed class FleetServiceClient(Uri address) : IDisposable
{
    private static readonly ServiceDescriptor Service = FleetReflection.Descriptor.Services.Single(s => s.Name == "FleetService");
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(10);
    private readonly GrpcChannel _channel = GrpcChannel.ForAddress(address);

    public Task<ListClustersResponse> ListClustersAsync() => Unary<ListClustersRequest, ListClustersResponse>("ListClusters", new());

    public Task<Cluster> GetClusterAsync(string cluster) => Unary<GetClusterRequest, Cluster>("GetCluster", new() { Cluster = cluster });

    public Task<Node> GetNodeAsync(string cluster, string node) => Unary<GetNodeRequest, Node>("GetNode", new() { Cluster = cluster, Node = node });

    public Task<ListAlertsResponse> ListAlertsAsync(ListAlertsRequest request) => Unary<ListAlertsRequest, ListAlertsResponse>("ListAlerts", request);

    public Task<ListEventsResponse> ListEventsAsync(ListEventsRequest request) => Unary<ListEventsRequest, ListEventsResponse>("ListEvents", request);

    /// <summary>A watch runs until <paramref name="cancellationToken"/> is cancelled or the call is disposed.</summary>
    public AsyncServerStreamingCall<FleetChange> Watch(WatchRequest request, CancellationToken cancellationToken) =>
        _channel.ServerStreamingCall(Method<WatchRequest, FleetChange>.FromDescriptor(Service.GetMethod("Watch")), request, new CallOptions(cancellationToken: cancellationToken));

    /// <summary>Manual failover; returns when it completed, was refused or failed (a minute at most).</summary>
    public Task<RoleChangeResponse> FailoverAsync(FailoverRequest request) => Unary<FailoverRequest, RoleChangeResponse>("Failover", request, TimeSpan.FromSeconds(60));


    public void Dispose() => _channel.Dispose();

    private async Task<TResponse> Unary<TRequest, TResponse>(string name, TRequest request, TimeSpan? timeout = null)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        var method = Method<TRequest, TResponse>.FromDescriptor(Service.GetMethod(name));
        using var call = _channel.UnaryCall(method, request, new CallOptions().WithTimeout(timeout ?? CallTimeout));
        return await call.ResponseAsync;
    }
}

/// <summary>Typed fleet.v1.AgentService calls (one agent's local API).</summary>
public sealed class AgentServiceClient(Uri address) : IDisposable
{
    private static readonly Method<GetStatusRequest, GetStatusResponse> GetStatus = Method<GetStatusRequest, GetStatusResponse>.FromDescriptor(
        AgentReflection.Descriptor.Services.Single(s => s.Name == "AgentService").GetMethod("GetStatus"));

    private readonly GrpcChannel _channel = GrpcChannel.ForAddress(address);

    public async Task<GetStatusResponse> GetStatusAsync()
    {
        using var call = _channel.UnaryCall(GetStatus, new GetStatusRequest(), new CallOptions().WithTimeout(TimeSpan.FromSeconds(10)));
        return await call.ResponseAsync;
    }

    /// <summary>Operator Promote of this agent's node (AgentService.Promote) under <paramref name="epoch"/>.</summary>
    public async Task<ActionResponse> PromoteAsync(ulong epoch, string reason)
    {
        var method = Method<PromoteRequest, ActionResponse>.FromDescriptor(AgentReflection.Descriptor.Services.Single(s => s.Name == "AgentService").GetMethod("Promote"));
        using var call = _channel.UnaryCall(method, new PromoteRequest { Epoch = epoch, Operator = new OperatorContext { Operator = "e2e", Reason = reason } },
            new CallOptions().WithTimeout(TimeSpan.FromSeconds(60)));
        return await call.ResponseAsync;
    }

    public void Dispose() => _channel.Dispose();
}
