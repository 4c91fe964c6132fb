using Fleet.Protos.V1;

namespace Fleet.Aggregator.Store;

/// <summary>
/// Alerts: one row per alert ID with its current state (alerts), plus one row per state transition
/// (alert_history). Both keep the whole Alert message as payload.
/// </summary>
internal sealed partial class SqliteFleetStore
{
    public Task<AlertUpsertResult> UpsertAlertAsync(Alert alert, CancellationToken cancellationToken)
    {
        var row = AlertRow.From(alert, timeProvider.GetUtcNow());
        return WriteAsync(durable: false, (connection, transaction) =>
        {
            int? storedState = null;
            byte[]? storedPayload = null;
            using (var select = connection.CreateCommand())
            {
                select.Transaction = transaction;
                select.CommandText = "SELECT state, payload FROM alerts WHERE id = $id";
                select.Parameters.AddWithValue("$id", alert.Id);
                using var reader = select.ExecuteReader();
                if (reader.Read())
                {
                    storedState = reader.GetInt32(0);
                    storedPayload = reader.GetFieldValue<byte[]>(1);
                }
            }

            var result = row.Compare(storedState, storedPayload);
            if (result == AlertUpsertResult.Unchanged)
            {
                return result;
            }

            using (var upsert = connection.CreateCommand())
            {
                upsert.Transaction = transaction;
                upsert.CommandText = """
                    INSERT INTO alerts (id, rule, cluster, node, severity, state, since_ms, state_ms, payload)
                    VALUES ($id, $rule, $cluster, $node, $severity, $state, $since, $stateMs, $payload)
                    ON CONFLICT (id) DO UPDATE SET
                        rule = excluded.rule, cluster = excluded.cluster, node = excluded.node,
                        severity = excluded.severity, state = excluded.state, since_ms = excluded.since_ms,
                        state_ms = CASE WHEN alerts.state = excluded.state THEN alerts.state_ms ELSE excluded.state_ms END,
                        payload = excluded.payload
                    """;
                upsert.Parameters.AddWithValue("$id", alert.Id);
                upsert.Parameters.AddWithValue("$rule", alert.Rule);
                upsert.Parameters.AddWithValue("$cluster", alert.Cluster);
                upsert.Parameters.AddWithValue("$node", alert.Node);
                upsert.Parameters.AddWithValue("$severity", (int)alert.Severity);
                upsert.Parameters.AddWithValue("$state", (int)alert.State);
                upsert.Parameters.AddWithValue("$since", row.SinceMs);
                upsert.Parameters.AddWithValue("$stateMs", row.StateMs);
                upsert.Parameters.AddWithValue("$payload", row.Payload);
                upsert.ExecuteNonQuery();
            }

            if (result == AlertUpsertResult.Updated)
            {
                return result;
            }

            using (var history = connection.CreateCommand())
            {
                history.Transaction = transaction;
                history.CommandText = """
                    INSERT INTO alert_history (alert_id, cluster, node, state, time_ms, payload)
                    VALUES ($id, $cluster, $node, $state, $time, $payload)
                    """;
                history.Parameters.AddWithValue("$id", alert.Id);
                history.Parameters.AddWithValue("$cluster", alert.Cluster);
                history.Parameters.AddWithValue("$node", alert.Node);
                history.Parameters.AddWithValue("$state", (int)alert.State);
                history.Parameters.AddWithValue("$time", row.StateMs);
                history.Parameters.AddWithValue("$payload", row.Payload);
                history.ExecuteNonQuery();
            }

            return result;
        }, cancellationToken);
    }

    public Task<IReadOnlyList<Alert>> ListActiveAlertsAsync(string? cluster, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<Alert>>(connection =>
        {
            using var command = connection.CreateCommand();
            StoreSql.ActiveAlerts(command, cluster);
            return ReadAll(command, reader => StoreCodec.ReadMessage(reader, 0, Alert.Parser));
        }, cancellationToken);

    public Task<IReadOnlyList<AlertHistoryEntry>> QueryAlertHistoryAsync(AlertHistoryQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var limit = StoreLimits.Clamp(query.Limit, nameof(query));
        return ReadAsync<IReadOnlyList<AlertHistoryEntry>>(connection =>
        {
            using var command = connection.CreateCommand();
            StoreSql.AlertHistory(command, query, limit);
            return ReadAll(command, StoreSql.ReadAlertHistory);
        }, cancellationToken);
    }
}
