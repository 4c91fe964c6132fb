using System.Diagnostics;
using Npgsql;

namespace Fleet.Aggregator.Store;

/// <summary>Retention as in the SQLite store: chunks of <see cref="SqliteFleetStore.PruneChunk"/> rows, one short transaction each.</summary>
internal sealed partial class PostgresFleetStore
{
    public async Task<PruneResult> PruneAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        Source();
        var started = Stopwatch.GetTimestamp();
        var cutoff = now - storeOptions.Retention;
        var cutoffMs = StoreCodec.ToUnixMs(cutoff);

        var events = await DeleteInChunksAsync(
            "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE time_ms < @cutoff ORDER BY id LIMIT @chunk)", cutoffMs, cancellationToken);
        if (await FindExcessCutoffAsync("SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET @keep", storeOptions.MaxEvents, cancellationToken) is { } lastExcessEvent)
        {
            events += await DeleteInChunksAsync(
                "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE id <= @cutoff ORDER BY id LIMIT @chunk)", lastExcessEvent, cancellationToken);
        }

        var history = await DeleteInChunksAsync(
            $"""
            DELETE FROM alert_history WHERE seq IN (
                SELECT seq FROM alert_history
                WHERE time_ms < @cutoff AND alert_id NOT IN (SELECT id FROM alerts WHERE {StoreSql.ActiveAlertStates})
                ORDER BY seq LIMIT @chunk)
            """, cutoffMs, cancellationToken);
        if (await FindExcessCutoffAsync("SELECT seq FROM alert_history ORDER BY seq DESC LIMIT 1 OFFSET @keep", storeOptions.MaxAlertHistory, cancellationToken) is { } lastExcessHistory)
        {
            history += await DeleteInChunksAsync(
                "DELETE FROM alert_history WHERE seq IN (SELECT seq FROM alert_history WHERE seq <= @cutoff ORDER BY seq LIMIT @chunk)", lastExcessHistory, cancellationToken);
        }

        var resolved = await DeleteInChunksAsync(
            "DELETE FROM alerts WHERE id IN (SELECT id FROM alerts WHERE state = 3 /* RESOLVED */ AND state_ms < @cutoff LIMIT @chunk)", cutoffMs, cancellationToken);

        var result = new PruneResult(events, history, resolved);
        if (result.Total > 0)
        {
            logger.Pruned(events, history, resolved, cutoff, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        return result;
    }

    private async Task<long?> FindExcessCutoffAsync(string sql, long keep, CancellationToken cancellationToken)
    {
        await using var command = Source().CreateCommand(sql);
        command.Parameters.AddWithValue("keep", keep);
        return await command.ExecuteScalarAsync(cancellationToken) is long key ? key : null;
    }

    private async Task<long> DeleteInChunksAsync(string sql, long cutoff, CancellationToken cancellationToken)
    {
        long total = 0;
        while (true)
        {
            var deleted = await WriteAsync(durable: false, async (connection, transaction) =>
            {
                await using var command = new NpgsqlCommand(sql, connection, transaction);
                command.Parameters.AddWithValue("cutoff", cutoff);
                command.Parameters.AddWithValue("chunk", SqliteFleetStore.PruneChunk);
                return await command.ExecuteNonQueryAsync(cancellationToken);
            }, cancellationToken);
            total += deleted;
            if (deleted < SqliteFleetStore.PruneChunk)
            {
                return total;
            }
        }
    }
}
