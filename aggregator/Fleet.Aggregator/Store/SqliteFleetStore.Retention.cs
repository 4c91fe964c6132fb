using System.Diagnostics;
using Microsoft.Data.Sqlite;

namespace Fleet.Aggregator.Store;

/// <summary>
/// Retention: deletes in chunks of <see cref="PruneChunk"/> rows, one short transaction each, releasing
/// the writer between chunks so appends interleave with a large prune.
/// </summary>
internal sealed partial class SqliteFleetStore
{
    internal const int PruneChunk = 2000;

    public async Task<PruneResult> PruneAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        EnsureInitialized();
        var started = Stopwatch.GetTimestamp();
        var cutoff = now - options.Retention;
        var cutoffMs = StoreCodec.ToUnixMs(cutoff);

        // Events: too old, then too many (everything at or below the ID MaxEvents rows from the newest).
        var events = await DeleteInChunksAsync(
            "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE time_ms < $cutoff ORDER BY id LIMIT $chunk)",
            ("$cutoff", cutoffMs), cancellationToken);
        var excessEvent = await FindExcessCutoffAsync("SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET $keep", options.MaxEvents, cancellationToken);
        if (excessEvent is { } lastExcessEvent)
        {
            events += await DeleteInChunksAsync(
                "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE id <= $cutoff ORDER BY id LIMIT $chunk)",
                ("$cutoff", lastExcessEvent), cancellationToken);
        }

        // Alert history: old transitions of alerts that are no longer active, then too many.
        var history = await DeleteInChunksAsync(
            """
            DELETE FROM alert_history WHERE seq IN (
                SELECT seq FROM alert_history
                WHERE time_ms < $cutoff
                  AND alert_id NOT IN (SELECT id FROM alerts WHERE state IN (1, 2) /* PENDING, FIRING */)
                ORDER BY seq LIMIT $chunk)
            """,
            ("$cutoff", cutoffMs), cancellationToken);
        var excessHistory = await FindExcessCutoffAsync("SELECT seq FROM alert_history ORDER BY seq DESC LIMIT 1 OFFSET $keep", options.MaxAlertHistory, cancellationToken);
        if (excessHistory is { } lastExcessHistory)
        {
            history += await DeleteInChunksAsync(
                "DELETE FROM alert_history WHERE seq IN (SELECT seq FROM alert_history WHERE seq <= $cutoff ORDER BY seq LIMIT $chunk)",
                ("$cutoff", lastExcessHistory), cancellationToken);
        }

        // Current state of alerts resolved before the cutoff.
        var resolved = await DeleteInChunksAsync(
            "DELETE FROM alerts WHERE id IN (SELECT id FROM alerts WHERE state = 3 /* RESOLVED */ AND state_ms < $cutoff LIMIT $chunk)",
            ("$cutoff", cutoffMs), cancellationToken);

        var result = new PruneResult(events, history, resolved);
        if (result.Total > 0)
        {
            logger.Pruned(events, history, resolved, cutoff, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        return result;
    }

    /// <summary>The key of the newest row beyond the newest <paramref name="keep"/> rows, if any.</summary>
    private Task<long?> FindExcessCutoffAsync(string sql, long keep, CancellationToken cancellationToken) =>
        ReadAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            command.Parameters.AddWithValue("$keep", keep);
            return command.ExecuteScalar() is long key ? key : (long?)null;
        }, cancellationToken);

    private async Task<long> DeleteInChunksAsync(string sql, (string Name, long Value) parameter, CancellationToken cancellationToken)
    {
        long total = 0;
        while (true)
        {
            var deleted = await WriteAsync(durable: false, (connection, transaction) =>
            {
                using var command = connection.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = sql;
                command.Parameters.AddWithValue(parameter.Name, parameter.Value);
                command.Parameters.Add("$chunk", SqliteType.Integer).Value = PruneChunk;
                return command.ExecuteNonQuery();
            }, cancellationToken);
            total += deleted;
            if (deleted < PruneChunk)
            {
                return total;
            }
        }
    }
}
