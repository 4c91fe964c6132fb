using Microsoft.Data.Sqlite;

namespace Fleet.Aggregator.Store;

/// <summary>Retention (<see cref="StoreRetention"/>): each chunk one IMMEDIATE transaction, the writer released between chunks.</summary>
internal sealed partial class SqliteFleetStore
{
    internal const int PruneChunk = StoreRetention.Chunk;

    public Task<PruneResult> PruneAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        EnsureInitialized();
        return StoreRetention.PruneAsync(options, now, DeleteInChunksAsync, FindExcessCutoffAsync, logger, cancellationToken);
    }

    /// <summary>The key of the newest row beyond the newest <paramref name="keep"/> rows, if any.</summary>
    private Task<long?> FindExcessCutoffAsync(string sql, long keep, CancellationToken cancellationToken) =>
        ReadAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            command.Parameters.AddWithValue("@keep", keep);
            return command.ExecuteScalar() is long key ? key : (long?)null;
        }, cancellationToken);

    private async Task<long> DeleteInChunksAsync(string sql, long cutoff, CancellationToken cancellationToken)
    {
        long total = 0;
        while (true)
        {
            var deleted = await WriteAsync(durable: false, (connection, transaction) =>
            {
                using var command = connection.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = sql;
                command.Parameters.AddWithValue("@cutoff", cutoff);
                command.Parameters.Add("@chunk", SqliteType.Integer).Value = PruneChunk;
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
