namespace Fleet.Aggregator.Store;

/// <summary>The audit log: plain columns; reasons as a JSON array, details as a JSON document. Fsync'd.</summary>
internal sealed partial class SqliteFleetStore
{
    public Task<long> AppendAuditAsync(AuditRecord record, CancellationToken cancellationToken)
    {
        var reasons = StoreArguments.CheckAudit(record);
        return WriteAsync(durable: true, (connection, transaction) =>
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = """
                INSERT INTO audit (time_ms, actor, action, cluster, node, outcome, reasons, details)
                VALUES ($time, $actor, $action, $cluster, $node, $outcome, $reasons, $details)
                RETURNING id
                """;
            command.Parameters.AddWithValue("$time", StoreCodec.ToUnixMs(record.Time));
            command.Parameters.AddWithValue("$actor", record.Actor);
            command.Parameters.AddWithValue("$action", record.Action);
            command.Parameters.AddWithValue("$cluster", record.Cluster ?? string.Empty);
            command.Parameters.AddWithValue("$node", record.Node ?? string.Empty);
            command.Parameters.AddWithValue("$outcome", record.Outcome);
            command.Parameters.AddWithValue("$reasons", reasons);
            command.Parameters.AddWithValue("$details", (object?)record.DetailsJson ?? DBNull.Value);
            return (long)command.ExecuteScalar()!;
        }, cancellationToken);
    }

    public Task<IReadOnlyList<AuditRecord>> QueryAuditAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var limit = StoreLimits.Clamp(query.Limit, nameof(query));
        return ReadAsync<IReadOnlyList<AuditRecord>>(connection =>
        {
            using var command = connection.CreateCommand();
            StoreSql.Audit(command, query, limit, asText: false);
            return ReadAll(command, StoreSql.ReadAudit);
        }, cancellationToken);
    }
}
