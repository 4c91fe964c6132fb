namespace Fleet.Aggregator.Store;

/// <summary>Failover epochs (compare-and-set, fsync'd) and named sequences (fsync'd).</summary>
internal sealed partial class SqliteFleetStore
{
    public Task<ulong> GetEpochAsync(string cluster, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(cluster);
        return ReadAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT COALESCE((SELECT epoch FROM epochs WHERE cluster = $cluster), 0)";
            command.Parameters.AddWithValue("$cluster", cluster);
            return (ulong)(long)command.ExecuteScalar()!;
        }, cancellationToken);
    }

    public Task<IReadOnlyDictionary<string, ulong>> ListEpochsAsync(CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyDictionary<string, ulong>>(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT cluster, epoch FROM epochs ORDER BY cluster";
            var result = new Dictionary<string, ulong>(StringComparer.Ordinal);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                result[reader.GetString(0)] = (ulong)reader.GetInt64(1);
            }

            return result;
        }, cancellationToken);

    public Task<EpochAdvanceResult> TryAdvanceEpochAsync(string cluster, ulong expectedCurrent, ulong newEpoch, CancellationToken cancellationToken)
    {
        var (expected, next) = StoreArguments.CheckEpochAdvance(cluster, expectedCurrent, newEpoch);
        var nowMs = StoreCodec.ToUnixMs(timeProvider.GetUtcNow());

        // Read and write in one IMMEDIATE transaction: no other connection (or process) can change the
        // row in between, and the writer lock serialises callers of this process.
        return WriteAsync(durable: true, (connection, transaction) =>
        {
            using var select = connection.CreateCommand();
            select.Transaction = transaction;
            select.CommandText = "SELECT COALESCE((SELECT epoch FROM epochs WHERE cluster = $cluster), 0)";
            select.Parameters.AddWithValue("$cluster", cluster);
            var current = (long)select.ExecuteScalar()!;
            if (current != expected)
            {
                return new EpochAdvanceResult(false, (ulong)current);
            }

            using var upsert = connection.CreateCommand();
            upsert.Transaction = transaction;
            upsert.CommandText = """
                INSERT INTO epochs (cluster, epoch, updated_ms) VALUES ($cluster, $epoch, $now)
                ON CONFLICT (cluster) DO UPDATE SET epoch = excluded.epoch, updated_ms = excluded.updated_ms
                """;
            upsert.Parameters.AddWithValue("$cluster", cluster);
            upsert.Parameters.AddWithValue("$epoch", next);
            upsert.Parameters.AddWithValue("$now", nowMs);
            upsert.ExecuteNonQuery();
            return new EpochAdvanceResult(true, newEpoch);
        }, cancellationToken);
    }

    public Task<long> NextSequenceValueAsync(string name, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return WriteAsync(durable: true, (connection, transaction) =>
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = """
                INSERT INTO sequences (name, value) VALUES ($name, 1)
                ON CONFLICT (name) DO UPDATE SET value = value + 1
                RETURNING value
                """;
            command.Parameters.AddWithValue("$name", name);
            return (long)command.ExecuteScalar()!;
        }, cancellationToken);
    }
}
