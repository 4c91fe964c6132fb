using Npgsql;

namespace Fleet.Aggregator.Store;

/// <summary>Retention (<see cref="StoreRetention"/>): each chunk one transaction of its own.</summary>
internal sealed partial class PostgresFleetStore
{
    public Task<PruneResult> PruneAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        Source();
        return StoreRetention.PruneAsync(storeOptions, now, DeleteInChunksAsync, FindExcessCutoffAsync, logger, cancellationToken);
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
                command.Parameters.AddWithValue("chunk", StoreRetention.Chunk);
                return await command.ExecuteNonQueryAsync(cancellationToken);
            }, cancellationToken);
            total += deleted;
            if (deleted < StoreRetention.Chunk)
            {
                return total;
            }
        }
    }
}
