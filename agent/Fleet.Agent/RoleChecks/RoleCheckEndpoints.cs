using System.Text.Json;
using Fleet.Agent.Collection;
using Fleet.Agent.State;

namespace Fleet.Agent.RoleChecks;

/// <summary>Maps the HAProxy-style role checks (Patroni-compatible paths; GET, HEAD and OPTIONS).</summary>
internal static class RoleCheckEndpoints
{
    private static readonly (string Path, RoleCheckKind Kind)[] Paths =
    [
        ("/primary", RoleCheckKind.Primary), ("/master", RoleCheckKind.Primary), ("/leader", RoleCheckKind.Primary),
        ("/read-write", RoleCheckKind.Primary), ("/replica", RoleCheckKind.Replica), ("/read-only", RoleCheckKind.ReadOnly),
        ("/health", RoleCheckKind.Health),
    ];

    public static void MapRoleChecks(this IEndpointRouteBuilder endpoints)
    {
        foreach (var (path, kind) in Paths)
        {
            // HAProxy's httpchk defaults to OPTIONS; Patroni answers it like GET.
            endpoints.MapMethods(path, ["GET", "HEAD", "OPTIONS"], (HttpContext context, SnapshotBoard board, AgentState state, TimeProvider time) =>
                AnswerAsync(context, kind, board, state, time));
        }
    }

    private static async Task AnswerAsync(HttpContext context, RoleCheckKind kind, SnapshotBoard board, AgentState state, TimeProvider time)
    {
        ulong? maxLag = null;
        if (context.Request.Query.TryGetValue("lag", out var lagText) && lagText.Count > 0)
        {
            if (!LagBound.TryParse(lagText[0], out var parsed))
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                await context.Response.WriteAsync($"lag must be a whole number of bytes, optionally with a unit (B, kB, MB, GB, TB), got '{lagText[0]}'\n");
                return;
            }

            maxLag = parsed;
        }

        var snapshot = board.Current;
        var result = RoleCheck.Evaluate(kind, snapshot, state.Fenced, maxLag, time.GetUtcNow());
        context.Response.StatusCode = result.StatusCode;
        context.Response.ContentType = "application/json";
        if (HttpMethods.IsHead(context.Request.Method))
        {
            return;
        }

        var body = new RoleCheckBody(
            result.Passed ? "running" : "unavailable",
            snapshot?.Role.ToString().ToLowerInvariant() ?? "unknown",
            result.Reason,
            snapshot?.Timeline,
            snapshot is null ? null : RoleCheck.ReplayBacklogBytes(snapshot));
        await JsonSerializer.SerializeAsync(context.Response.Body, body, RoleCheckJsonContext.Default.RoleCheckBody);
    }
}

internal sealed record RoleCheckBody(string State, string Role, string Reason, uint? Timeline, ulong? ReplayBacklogBytes);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.SnakeCaseLower)]
[System.Text.Json.Serialization.JsonSerializable(typeof(RoleCheckBody))]
internal sealed partial class RoleCheckJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
