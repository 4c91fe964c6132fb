using Fleet.Protos.V1;
using Fleet.Aggregator.Coordination;
using Fleet.Aggregator.Requests;
using Google.Protobuf;
using Microsoft.Extensions.Options;

namespace Fleet.Aggregator.Api;

/// <summary>
/// The FleetService data as JSON under /api/v1 for dashboards and scripts. Bodies use the protobuf JSON
/// mapping (lowerCamelCase fields, enum names), the same shapes grpcurl prints.
/// </summary>
internal static class HttpApi
{
    private static readonly JsonFormatter Json = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(false));

    public static void MapHttpApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/api/v1");
        api.MapGet("/clusters", (FleetQueries queries) => Message(queries.ListClusters()));
        api.MapGet("/clusters/{cluster}", (string cluster, FleetQueries queries) => RunAsync(() => Task.FromResult(queries.GetCluster(cluster))));
        api.MapGet("/clusters/{cluster}/nodes/{node}", (string cluster, string node, FleetQueries queries) => RunAsync(() => Task.FromResult(queries.GetNode(cluster, node))));
        api.MapGet("/alerts", (HttpContext context, FleetQueries queries) => RunAsync(() =>
        {
            var query = context.Request.Query;
            var request = new ListAlertsRequest
            {
                Cluster = query["cluster"].ToString(),
                Node = query["node"].ToString(),
                State = QueryParameters.Enum<AlertState>(query, "state", "ALERT_STATE_"),
                MinSeverity = QueryParameters.Enum<Severity>(query, "min_severity", "SEVERITY_"),
            };
            return queries.QueryAlertsAsync(request, context.RequestAborted);
        }));
        api.MapGet("/events", (HttpContext context, FleetQueries queries) => RunAsync(() =>
        {
            var query = context.Request.Query;
            var request = new ListEventsRequest
            {
                Cluster = query["cluster"].ToString(),
                Node = query["node"].ToString(),
                Kind = QueryParameters.Enum<EventKind>(query, "kind", "EVENT_KIND_"),
                PageToken = query["page_token"].ToString(),
                Limit = QueryParameters.Number(query, "limit", 1, 1000) ?? 0,
            };
            if (QueryParameters.Time(query, "since") is { } since)
            {
                request.Since = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(since);
            }

            return queries.QueryEventsAsync(request, context.RequestAborted);
        }));
        api.MapGet("/watch", ServerSentEvents.StreamAsync);
        api.MapGet("/leadership", (ILeadership leadership, IOptions<CoordinationOptions> coordination, TimeProvider time) =>
        {
            var status = leadership.Status(time.GetUtcNow());
            return Results.Json(new LeadershipBody(CoordinationNames.Name(coordination.Value), coordination.Value.Mode.ToString().ToLowerInvariant(), status.IsLeader,
                status.Holder, status.Address, status.Term), HttpApiJsonContext.Default.LeadershipBody);
        });
    }

    public static IResult Message(IMessage message) => Results.Text(Json.Format(message), "application/json");

    public static string Format(IMessage message) => Json.Format(message);

    private static async Task<IResult> RunAsync<T>(Func<Task<T>> query)
        where T : IMessage
    {
        try
        {
            return Message(await query());
        }
        catch (RequestRefusedException ex)
        {
            return Refused(ex);
        }
    }

    /// <summary>The HTTP edge of a domain refusal.</summary>
    internal static int HttpStatusOf(RefusalKind kind) => kind switch
    {
        RefusalKind.NotFound => StatusCodes.Status404NotFound,
        RefusalKind.StaleEpoch => StatusCodes.Status409Conflict,
        RefusalKind.NotLeader => StatusCodes.Status421MisdirectedRequest,
        _ => StatusCodes.Status400BadRequest,
    };

    private static IResult Refused(RequestRefusedException ex) => Problem(HttpStatusOf(ex.Kind), ex.Message);

    private static IResult Problem(int status, string detail) => Results.Json(new ProblemBody(detail), HttpApiJsonContext.Default.ProblemBody, statusCode: status);
}

internal sealed record ProblemBody(string Error);

/// <summary>GET /api/v1/leadership: this aggregator, the coordination mode, and the leader it knows.</summary>
internal sealed record LeadershipBody(string Name, string Mode, bool IsLeader, string? Leader, string? LeaderAddress, long Term);

[System.Text.Json.Serialization.JsonSerializable(typeof(ProblemBody))]
[System.Text.Json.Serialization.JsonSerializable(typeof(LeadershipBody))]
[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
internal sealed partial class HttpApiJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
