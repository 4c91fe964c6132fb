using System.Globalization;
using Fleet.Aggregator.Requests;
using Fleet.Aggregator.State;
using Fleet.Aggregator.Store;
using Fleet.Protos.V1;

namespace Fleet.Aggregator.Api;

/// <summary>
/// The read side of FleetService, shared by its two edges (gRPC <see cref="FleetApi"/> and the HTTP JSON
/// API): clusters, nodes, alerts and events. Refusals are <see cref="RequestRefusedException"/>s.
/// </summary>
internal sealed class FleetQueries(FleetReader reader, IAlertView alerts, IFleetStore store)
{
    public const int DefaultEventLimit = 100;

    public ListClustersResponse ListClusters()
    {
        var response = new ListClustersResponse();
        response.Clusters.AddRange(reader.ListClusters());
        return response;
    }

    public Cluster GetCluster(string cluster) =>
        reader.GetCluster(cluster) ?? throw new RequestRefusedException(RefusalKind.NotFound, $"no cluster '{cluster}' in this region");

    public Node GetNode(string cluster, string node) =>
        reader.GetNode(cluster, node) ?? throw new RequestRefusedException(RefusalKind.NotFound, $"no node '{node}' in cluster '{cluster}'");

    public async Task<ListAlertsResponse> QueryAlertsAsync(ListAlertsRequest request, CancellationToken cancellationToken)
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

    public async Task<ListEventsResponse> QueryEventsAsync(ListEventsRequest request, CancellationToken cancellationToken)
    {
        ulong? before = null;
        if (request.PageToken.Length > 0)
        {
            if (!ulong.TryParse(request.PageToken, NumberStyles.None, CultureInfo.InvariantCulture, out var token))
            {
                throw new RequestRefusedException(RefusalKind.InvalidArgument, "page_token is not one this server issued");
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

    public static string Required(string value, string field) =>
        string.IsNullOrWhiteSpace(value) ? throw new RequestRefusedException(RefusalKind.InvalidArgument, $"{field} is required") : value;

    public static string? NullIfEmpty(string value) => string.IsNullOrEmpty(value) ? null : value;
}
