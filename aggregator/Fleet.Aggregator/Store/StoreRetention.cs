using System.Diagnostics;

namespace Fleet.Aggregator.Store;

/// <summary>
/// Retention, the same for both stores: delete in chunks of <see cref="Chunk"/> rows, one short transaction
/// each, so appends interleave with a large prune. The SQL is the same in SQLite and PostgreSQL; each store
/// supplies how to run a chunked delete (<c>@cutoff</c>, <c>@chunk</c>) and a cutoff query (<c>@keep</c>).
/// </summary>
internal static class StoreRetention
{
    public const int Chunk = 2000;

    public static async Task<PruneResult> PruneAsync(
        StoreOptions options,
        DateTimeOffset now,
        Func<string, long, CancellationToken, Task<long>> deleteInChunks,
        Func<string, long, CancellationToken, Task<long?>> findExcessCutoff,
        ILogger logger,
        CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var cutoff = now - options.Retention;
        var cutoffMs = StoreCodec.ToUnixMs(cutoff);

        // Events: too old, then too many (everything at or below the ID MaxEvents rows from the newest).
        var events = await deleteInChunks(
            "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE time_ms < @cutoff ORDER BY id LIMIT @chunk)", cutoffMs, cancellationToken);
        if (await findExcessCutoff("SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET @keep", options.MaxEvents, cancellationToken) is { } lastExcessEvent)
        {
            events += await deleteInChunks(
                "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE id <= @cutoff ORDER BY id LIMIT @chunk)", lastExcessEvent, cancellationToken);
        }

        // Alert history: old transitions of alerts that are no longer active, then too many.
        var history = await deleteInChunks(
            $"""
            DELETE FROM alert_history WHERE seq IN (
                SELECT seq FROM alert_history
                WHERE time_ms < @cutoff AND alert_id NOT IN (SELECT id FROM alerts WHERE {StoreSql.ActiveAlertStates})
                ORDER BY seq LIMIT @chunk)
            """, cutoffMs, cancellationToken);
        if (await findExcessCutoff("SELECT seq FROM alert_history ORDER BY seq DESC LIMIT 1 OFFSET @keep", options.MaxAlertHistory, cancellationToken) is { } lastExcessHistory)
        {
            history += await deleteInChunks(
                "DELETE FROM alert_history WHERE seq IN (SELECT seq FROM alert_history WHERE seq <= @cutoff ORDER BY seq LIMIT @chunk)", lastExcessHistory, cancellationToken);
        }

        // Current state of alerts resolved before the cutoff.
        var resolved = await deleteInChunks(
            "DELETE FROM alerts WHERE id IN (SELECT id FROM alerts WHERE state = 3 /* RESOLVED */ AND state_ms < @cutoff LIMIT @chunk)", cutoffMs, cancellationToken);

        var result = new PruneResult(events, history, resolved);
        if (result.Total > 0)
        {
            logger.Pruned(events, history, resolved, cutoff, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        return result;
    }
}
