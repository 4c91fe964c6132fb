using Fleet.Aggregator.State;
using Fleet.Protos.V1;

namespace Fleet.Aggregator.Api;

/// <summary>
/// GET /api/v1/watch: fleet changes as server-sent events (one JSON FleetChange per event), for the
/// dashboard. Node updates are coalesced per node over a short window so a browser is never flooded.
/// </summary>
internal static class ServerSentEvents
{
    private static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(250);

    public static async Task StreamAsync(HttpContext context, FleetChangeFeed feed, TimeProvider time)
    {
        var cluster = context.Request.Query["cluster"].ToString();
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        using var watcher = feed.Subscribe(string.IsNullOrEmpty(cluster) ? null : cluster);
        await context.Response.WriteAsync(": fleet watch\n\n", context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);

        var latestNodes = new Dictionary<string, FleetChange>(StringComparer.Ordinal);
        var others = new List<FleetChange>();
        try
        {
            while (await watcher.Reader.WaitToReadAsync(context.RequestAborted))
            {
                while (watcher.Reader.TryRead(out var change))
                {
                    if (change.ChangeCase == FleetChange.ChangeOneofCase.NodeUpdated)
                    {
                        var id = change.NodeUpdated.Identity;
                        latestNodes[$"{id.Cluster}/{id.Name}"] = change;
                    }
                    else
                    {
                        others.Add(change);
                    }
                }

                foreach (var change in others.Concat(latestNodes.Values))
                {
                    var outgoing = change;
                    if (change.ChangeCase == FleetChange.ChangeOneofCase.NodeUpdated && change.NodeUpdated.Snapshot is not null)
                    {
                        outgoing = change.Clone();
                        outgoing.NodeUpdated.Snapshot = null;
                    }

                    await context.Response.WriteAsync($"data: {HttpApi.Format(outgoing)}\n\n", context.RequestAborted);
                }

                others.Clear();
                latestNodes.Clear();
                await context.Response.Body.FlushAsync(context.RequestAborted);
                await Task.Delay(FlushInterval, time, context.RequestAborted);
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The browser went away.
        }
    }
}
