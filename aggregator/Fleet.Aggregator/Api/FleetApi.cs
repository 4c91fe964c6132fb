using Fleet.Aggregator.State;
using Fleet.Protos.V1;
using Fleet.Aggregator.Requests;
using Grpc.Core;
using Google.Protobuf.WellKnownTypes;

namespace Fleet.Aggregator.Api;

/// <summary>
/// fleet.v1.FleetService for operators (grpcurl, fleetctl) and dashboards. Role changes are decided
/// by the failover controller; this class authorises them and validates their requests.
/// </summary>
internal sealed class FleetApi(FleetReader reader, FleetQueries queries, FleetState fleet, FleetChangeFeed feed, IAlertView alerts, Failover.FailoverController failover,
    Microsoft.Extensions.Hosting.IHostApplicationLifetime lifetime, TimeProvider time) : FleetService.FleetServiceBase
{
    /// <summary>At most this many watch changes wait in the response buffer for a flush.</summary>
    private const int WatchFlushEvery = 64;

    private static readonly WriteOptions BufferedWrite = new(WriteFlags.BufferHint);
    private static readonly WriteOptions FlushingWrite = new();

    public override Task<ListClustersResponse> ListClusters(ListClustersRequest request, ServerCallContext context) =>
        Task.FromResult(queries.ListClusters());

    public override Task<Cluster> GetCluster(GetClusterRequest request, ServerCallContext context) =>
        Task.FromResult(queries.GetCluster(FleetQueries.Required(request.Cluster, "cluster")));

    public override Task<Node> GetNode(GetNodeRequest request, ServerCallContext context) =>
        Task.FromResult(queries.GetNode(FleetQueries.Required(request.Cluster, "cluster"), FleetQueries.Required(request.Node, "node")));

    public override Task<ListAlertsResponse> ListAlerts(ListAlertsRequest request, ServerCallContext context) =>
        queries.QueryAlertsAsync(request, context.CancellationToken);

    public override Task<ListEventsResponse> ListEvents(ListEventsRequest request, ServerCallContext context) =>
        queries.QueryEventsAsync(request, context.CancellationToken);

    public override async Task Watch(WatchRequest request, IServerStreamWriter<FleetChange> responses, ServerCallContext context)
    {
        var cluster = FleetQueries.NullIfEmpty(request.Cluster);

        // Subscribe before reading the initial state, so no change falls between the two.
        using var watcher = feed.Subscribe(cluster);
        var nodes = fleet.Nodes().Where(n => cluster is null || n.Key.Cluster == cluster).OrderBy(n => n.Key.ToString(), StringComparer.Ordinal).ToList();
        foreach (var record in nodes)
        {
            await responses.WriteAsync(new FleetChange { Time = Now(), NodeAppeared = reader.ToNode(record, request.IncludeSnapshots) }, context.CancellationToken);
        }

        var active = alerts.ActiveAlerts(cluster);
        foreach (var alert in active)
        {
            await responses.WriteAsync(new FleetChange { Time = Now(), AlertChanged = alert }, context.CancellationToken);
        }

        await responses.WriteAsync(
            new FleetChange { Time = Now(), InitialStateComplete = new InitialStateComplete { NodeCount = (uint)nodes.Count, AlertCount = (uint)active.Count } },
            context.CancellationToken);

        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        try
        {
            var changes = watcher.Reader;
            while (await changes.WaitToReadAsync(stopping.Token))
            {
                // Changes already queued go out in one flush (one socket write, not one per change); the last
                // of a pass, or every WatchFlushEvery-th, flushes, so nothing waits for a later change.
                var buffered = 0;
                while (changes.TryRead(out var change))
                {
                    var outgoing = change;
                    if (!request.IncludeSnapshots && change.ChangeCase is FleetChange.ChangeOneofCase.NodeUpdated)
                    {
                        outgoing = change.Clone();
                        outgoing.NodeUpdated.Snapshot = null;
                        outgoing.NodeUpdated.Archive = null;
                    }

                    var flush = changes.Count == 0 || ++buffered == WatchFlushEvery;
                    buffered = flush ? 0 : buffered;
                    responses.WriteOptions = flush ? FlushingWrite : BufferedWrite;
                    await responses.WriteAsync(outgoing, context.CancellationToken);
                }
            }
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "aggregator shutting down; reconnect"));
        }

        if (watcher.Overflowed)
        {
            throw new RpcException(new Status(StatusCode.ResourceExhausted,
                $"this watch fell more than {FleetChangeFeed.WatcherQueueCapacity} changes behind and was dropped; reconnect to get a fresh initial state"));
        }
    }

    public override async Task<RoleChangeResponse> Switchover(SwitchoverRequest request, ServerCallContext context)
    {
        var actor = OperatorAuthorization.Authorize(context, request.Operator);
        var decision = await failover.SwitchoverAsync(FleetQueries.Required(request.Cluster, "cluster"), FleetQueries.NullIfEmpty(request.Candidate), actor, request.Operator.Reason,
            request.HasExpectedEpoch ? request.ExpectedEpoch : null, context.CancellationToken);
        return new RoleChangeResponse { Decision = decision };
    }

    public override async Task<RoleChangeResponse> Failover(FailoverRequest request, ServerCallContext context)
    {
        var actor = OperatorAuthorization.Authorize(context, request.Operator);
        if (request.AllowCrossRegion && string.IsNullOrWhiteSpace(request.CrossRegionReason))
        {
            throw new RequestRefusedException(RefusalKind.InvalidArgument, "cross_region_reason is required with allow_cross_region: cross-region promotions are audited");
        }

        var decision = await failover.FailoverAsync(
            new Failover.ManualFailoverRequest(FleetQueries.Required(request.Cluster, "cluster"), FleetQueries.NullIfEmpty(request.Candidate), actor, request.Operator.Reason)
            {
                ExpectedEpoch = request.HasExpectedEpoch ? request.ExpectedEpoch : null,
                AllowCrossRegion = request.AllowCrossRegion,
                CrossRegionReason = request.CrossRegionReason,
                AbandonPendingPromotion = request.AbandonPendingPromotion,
            },
            context.CancellationToken);
        return new RoleChangeResponse { Decision = decision };
    }

    private Timestamp Now() => Timestamp.FromDateTimeOffset(time.GetUtcNow());

}

/// <summary>The filters of ListAlerts, applied to any source of alerts.</summary>
internal static class AlertFilter
{
    public static IEnumerable<Alert> Apply(IEnumerable<Alert> alerts, ListAlertsRequest request) =>
        alerts.Where(a =>
            (request.State == AlertState.Unspecified || a.State == request.State)
            && (request.Cluster.Length == 0 || a.Cluster == request.Cluster)
            && (request.Node.Length == 0 || a.Node == request.Node)
            && a.Severity >= request.MinSeverity);
}
