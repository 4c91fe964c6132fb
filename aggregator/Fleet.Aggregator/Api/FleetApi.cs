using System.Globalization;
using Fleet.Aggregator.State;
using Fleet.Aggregator.Store;
using Fleet.Protos.V1;
using Fleet.Rpc;
using Fleet.Rpc.Server;
using Google.Protobuf.WellKnownTypes;

namespace Fleet.Aggregator.Api;

/// <summary>
/// fleet.v1.FleetService for operators (grpcurl, fleetctl) and dashboards. Role changes are decided
/// by the failover controller; this class authorises them and validates their requests.
/// </summary>
internal sealed class FleetApi(FleetReader reader, FleetState fleet, FleetChangeFeed feed, IAlertView alerts, IFleetStore store, Failover.FailoverController failover,
    Microsoft.Extensions.Hosting.IHostApplicationLifetime lifetime, TimeProvider time)
{
    public const int DefaultEventLimit = 100;

    public static Google.Protobuf.Reflection.ServiceDescriptor Descriptor { get; } =
        FleetReflection.Descriptor.Services.Single(s => s.Name == "FleetService");

    public Task<ListClustersResponse> ListClusters(ListClustersRequest request, ServerCallContext context)
    {
        var response = new ListClustersResponse();
        response.Clusters.AddRange(reader.ListClusters());
        return Task.FromResult(response);
    }

    public Task<Cluster> GetCluster(GetClusterRequest request, ServerCallContext context) =>
        Task.FromResult(reader.GetCluster(Required(request.Cluster, "cluster"))
            ?? throw new RpcException(StatusCode.NotFound, $"no cluster '{request.Cluster}' in this region"));

    public Task<Node> GetNode(GetNodeRequest request, ServerCallContext context) =>
        Task.FromResult(reader.GetNode(Required(request.Cluster, "cluster"), Required(request.Node, "node"))
            ?? throw new RpcException(StatusCode.NotFound, $"no node '{request.Node}' in cluster '{request.Cluster}'"));

    public Task<ListAlertsResponse> ListAlerts(ListAlertsRequest request, ServerCallContext context) =>
        QueryAlertsAsync(request, context.CancellationToken);

    public Task<ListEventsResponse> ListEvents(ListEventsRequest request, ServerCallContext context) =>
        QueryEventsAsync(request, context.CancellationToken);

    internal async Task<ListAlertsResponse> QueryAlertsAsync(ListAlertsRequest request, CancellationToken cancellationToken)
    {
        var response = new ListAlertsResponse();
        IEnumerable<Alert> source;
        if (request.State == AlertState.Resolved)
        {
            var history = await store.QueryAlertHistoryAsync(
                new AlertHistoryQuery { Cluster = NullIfEmpty(request.Cluster), State = AlertState.Resolved, Limit = StoreLimits.MaxPageSize },
                cancellationToken);
            source = history.Select(h => h.Alert);
        }
        else
        {
            source = alerts.ActiveAlerts(NullIfEmpty(request.Cluster));
        }

        response.Alerts.AddRange(AlertFilter.Apply(source, request));
        return response;
    }

    internal async Task<ListEventsResponse> QueryEventsAsync(ListEventsRequest request, CancellationToken cancellationToken)
    {
        ulong? before = null;
        if (request.PageToken.Length > 0)
        {
            if (!ulong.TryParse(request.PageToken, NumberStyles.None, CultureInfo.InvariantCulture, out var token))
            {
                throw new RpcException(StatusCode.InvalidArgument, "page_token is not one this server issued");
            }

            before = token;
        }

        var limit = request.Limit == 0 ? DefaultEventLimit : (int)Math.Min(request.Limit, StoreLimits.MaxPageSize);
        var events = await store.QueryEventsAsync(
            new EventQuery
            {
                Cluster = NullIfEmpty(request.Cluster),
                Node = NullIfEmpty(request.Node),
                Kinds = request.Kind == EventKind.Unspecified ? null : [request.Kind],
                Since = request.Since?.ToDateTimeOffset(),
                BeforeId = before,
                Limit = limit,
            },
            cancellationToken);
        var response = new ListEventsResponse();
        response.Events.AddRange(events);
        if (events.Count == limit)
        {
            response.NextPageToken = events[^1].Id.ToString(CultureInfo.InvariantCulture);
        }

        return response;
    }

    public async Task Watch(WatchRequest request, IServerStreamWriter<FleetChange> responses, ServerCallContext context)
    {
        var cluster = NullIfEmpty(request.Cluster);

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
            await foreach (var change in watcher.Reader.ReadAllAsync(stopping.Token).WithCancellation(stopping.Token))
            {
                var outgoing = change;
                if (!request.IncludeSnapshots && change.ChangeCase is FleetChange.ChangeOneofCase.NodeUpdated)
                {
                    outgoing = change.Clone();
                    outgoing.NodeUpdated.Snapshot = null;
                    outgoing.NodeUpdated.Archive = null;
                }

                await responses.WriteAsync(outgoing, context.CancellationToken);
            }
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            throw new RpcException(StatusCode.Unavailable, "aggregator shutting down; reconnect");
        }

        if (watcher.Overflowed)
        {
            throw new RpcException(StatusCode.ResourceExhausted,
                $"this watch fell more than {FleetChangeFeed.WatcherQueueCapacity} changes behind and was dropped; reconnect to get a fresh initial state");
        }
    }

    public async Task<RoleChangeResponse> Switchover(SwitchoverRequest request, ServerCallContext context)
    {
        var actor = OperatorAuthorization.Authorize(context, request.Operator);
        var decision = await failover.SwitchoverAsync(Required(request.Cluster, "cluster"), NullIfEmpty(request.Candidate), actor, request.Operator.Reason,
            request.HasExpectedEpoch ? request.ExpectedEpoch : null, context.CancellationToken);
        return new RoleChangeResponse { Decision = decision };
    }

    public async Task<RoleChangeResponse> Failover(FailoverRequest request, ServerCallContext context)
    {
        var actor = OperatorAuthorization.Authorize(context, request.Operator);
        if (request.AllowCrossRegion && string.IsNullOrWhiteSpace(request.CrossRegionReason))
        {
            throw new RpcException(StatusCode.InvalidArgument, "cross_region_reason is required with allow_cross_region: cross-region promotions are audited");
        }

        var decision = await failover.FailoverAsync(
            new Failover.ManualFailoverRequest(Required(request.Cluster, "cluster"), NullIfEmpty(request.Candidate), actor, request.Operator.Reason)
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

    private static string Required(string value, string field) =>
        string.IsNullOrWhiteSpace(value) ? throw new RpcException(StatusCode.InvalidArgument, $"{field} is required") : value;

    private static string? NullIfEmpty(string value) => string.IsNullOrEmpty(value) ? null : value;
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
