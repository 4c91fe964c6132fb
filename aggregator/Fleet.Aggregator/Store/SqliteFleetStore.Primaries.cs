namespace Fleet.Aggregator.Store;

/// <summary>The published primary of each cluster and an unconfirmed promotion (fsync'd): what a restarted aggregator resumes from.</summary>
internal sealed partial class SqliteFleetStore
{
    public Task SavePrimaryAsync(ClusterPrimary primary, CancellationToken cancellationToken)
    {
        var (epoch, pendingEpochValue) = StoreArguments.CheckPrimary(primary);
        object pendingEpoch = pendingEpochValue is { } value ? value : DBNull.Value;
        var nowMs = StoreCodec.ToUnixMs(timeProvider.GetUtcNow());
        return WriteAsync(durable: true, (connection, transaction) =>
        {
            using var upsert = connection.CreateCommand();
            upsert.Transaction = transaction;
            upsert.CommandText = """
                INSERT INTO cluster_primaries (cluster, primary_node, epoch, pending_candidate, pending_epoch, former_primary, updated_ms)
                VALUES ($cluster, $primary, $epoch, $pending, $pendingEpoch, $former, $now)
                ON CONFLICT (cluster) DO UPDATE SET primary_node = excluded.primary_node, epoch = excluded.epoch,
                    pending_candidate = excluded.pending_candidate, pending_epoch = excluded.pending_epoch,
                    former_primary = excluded.former_primary, updated_ms = excluded.updated_ms
                """;
            upsert.Parameters.AddWithValue("$cluster", primary.Cluster);
            upsert.Parameters.AddWithValue("$primary", primary.Primary);
            upsert.Parameters.AddWithValue("$epoch", epoch);
            upsert.Parameters.AddWithValue("$pending", (object?)primary.PendingCandidate ?? DBNull.Value);
            upsert.Parameters.AddWithValue("$pendingEpoch", pendingEpoch);
            upsert.Parameters.AddWithValue("$former", (object?)primary.FormerPrimary ?? DBNull.Value);
            upsert.Parameters.AddWithValue("$now", nowMs);
            upsert.ExecuteNonQuery();
            return true;
        }, cancellationToken);
    }

    public Task<IReadOnlyList<ClusterPrimary>> ListPrimariesAsync(CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<ClusterPrimary>>(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = StoreSql.SelectPrimaries;
            return ReadAll(command, StoreSql.ReadPrimary);
        }, cancellationToken);
}
