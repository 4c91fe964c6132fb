namespace Fleet.Aggregator.Store;

/// <summary>The published primary of each cluster and an unconfirmed promotion (fsync'd): what a restarted aggregator resumes from.</summary>
internal sealed partial class SqliteFleetStore
{
    public Task SavePrimaryAsync(ClusterPrimary primary, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(primary);
        ArgumentException.ThrowIfNullOrEmpty(primary.Cluster);
        ArgumentException.ThrowIfNullOrEmpty(primary.Primary);
        var epoch = StoreCodec.ToDbInteger(primary.Epoch, nameof(primary.Epoch));
        object pendingEpoch = primary.PendingCandidate is null ? DBNull.Value : StoreCodec.ToDbInteger(primary.PendingEpoch, nameof(primary.PendingEpoch));
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
            command.CommandText = "SELECT cluster, primary_node, epoch, pending_candidate, pending_epoch, former_primary, updated_ms FROM cluster_primaries ORDER BY cluster";
            var result = new List<ClusterPrimary>();
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                result.Add(new ClusterPrimary(
                    reader.GetString(0),
                    reader.GetString(1),
                    (ulong)reader.GetInt64(2),
                    reader.IsDBNull(3) ? null : reader.GetString(3),
                    reader.IsDBNull(4) ? 0 : (ulong)reader.GetInt64(4))
                {
                    FormerPrimary = reader.IsDBNull(5) ? null : reader.GetString(5),
                    UpdatedAt = StoreCodec.FromUnixMs(reader.GetInt64(6)),
                });
            }

            return result;
        }, cancellationToken);
}
