using Fleet.Protos.V1;
using Google.Protobuf;

namespace Fleet.Aggregator.Store;

/// <summary>
/// Alerts: one row per alert ID with its current state (alerts), plus one row per state transition
/// (alert_history). Both keep the whole Alert message as payload.
/// </summary>
internal sealed partial class SqliteFleetStore
{
    private const int StatePending = (int)AlertState.Pending;
    private const int StateFiring = (int)AlertState.Firing;

    public Task<AlertUpsertResult> UpsertAlertAsync(Alert alert, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alert);
        if (string.IsNullOrEmpty(alert.Id))
        {
            throw new ArgumentException("Alert.Id is required.", nameof(alert));
        }

        if (alert.State is not (AlertState.Pending or AlertState.Firing or AlertState.Resolved))
        {
            throw new ArgumentException($"Alert '{alert.Id}' has state {alert.State}; only PENDING, FIRING and RESOLVED are stored.", nameof(alert));
        }

        var payload = alert.ToByteArray();
        var nowMs = StoreCodec.ToUnixMs(timeProvider.GetUtcNow());
        var stateMs = StateTimeMs(alert) ?? nowMs;
        var sinceMs = StoreCodec.IsSet(alert.PendingSince) ? StoreCodec.ToUnixMs(alert.PendingSince)
            : StoreCodec.IsSet(alert.FiringSince) ? StoreCodec.ToUnixMs(alert.FiringSince)
            : stateMs;

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

            var stateChanged = storedState != (int)alert.State;
            if (!stateChanged && storedPayload.AsSpan().SequenceEqual(payload))
            {
                return AlertUpsertResult.Unchanged;
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
                upsert.Parameters.AddWithValue("$since", sinceMs);
                upsert.Parameters.AddWithValue("$stateMs", stateMs);
                upsert.Parameters.AddWithValue("$payload", payload);
                upsert.ExecuteNonQuery();
            }

            if (!stateChanged)
            {
                return AlertUpsertResult.Updated;
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
                history.Parameters.AddWithValue("$time", stateMs);
                history.Parameters.AddWithValue("$payload", payload);
                history.ExecuteNonQuery();
            }

            return storedState is null ? AlertUpsertResult.Inserted : AlertUpsertResult.StateChanged;
        }, cancellationToken);
    }

    public Task<IReadOnlyList<Alert>> ListActiveAlertsAsync(string? cluster, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<Alert>>(connection =>
        {
            using var command = connection.CreateCommand();
            var conditions = new List<string> { "state IN ($pending, $firing)" };
            command.Parameters.AddWithValue("$pending", StatePending);
            command.Parameters.AddWithValue("$firing", StateFiring);
            StoreCodec.AddTextFilter(command, conditions, "cluster", "$cluster", cluster);
            command.CommandText = "SELECT payload FROM alerts" + StoreCodec.Where(conditions) + " ORDER BY severity DESC, since_ms, id";
            var result = new List<Alert>();
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                result.Add(StoreCodec.ReadMessage(reader, 0, Alert.Parser));
            }

            return result;
        }, cancellationToken);

    public Task<IReadOnlyList<AlertHistoryEntry>> QueryAlertHistoryAsync(AlertHistoryQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var limit = StoreLimits.Clamp(query.Limit, nameof(query));
        return ReadAsync<IReadOnlyList<AlertHistoryEntry>>(connection =>
        {
            using var command = connection.CreateCommand();
            var conditions = new List<string>();
            StoreCodec.AddTextFilter(command, conditions, "cluster", "$cluster", query.Cluster);
            if (query.State is { } state && state != AlertState.Unspecified)
            {
                conditions.Add("state = $state");
                command.Parameters.AddWithValue("$state", (int)state);
            }

            if (query.Since is { } since)
            {
                conditions.Add("time_ms >= $since");
                command.Parameters.AddWithValue("$since", StoreCodec.ToUnixMs(since));
            }

            command.CommandText = "SELECT seq, time_ms, payload FROM alert_history" + StoreCodec.Where(conditions) + " ORDER BY seq DESC LIMIT $limit";
            command.Parameters.AddWithValue("$limit", limit);
            var result = new List<AlertHistoryEntry>();
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                result.Add(new AlertHistoryEntry(reader.GetInt64(0), StoreCodec.FromUnixMs(reader.GetInt64(1)), StoreCodec.ReadMessage(reader, 2, Alert.Parser)));
            }

            return result;
        }, cancellationToken);
    }

    /// <summary>When the alert entered its current state, from the timestamp of that state.</summary>
    private static long? StateTimeMs(Alert alert)
    {
        var timestamp = alert.State switch
        {
            AlertState.Pending => alert.PendingSince,
            AlertState.Firing => alert.FiringSince,
            AlertState.Resolved => alert.ResolvedAt,
            _ => null,
        };
        return StoreCodec.IsSet(timestamp) ? StoreCodec.ToUnixMs(timestamp!) : null;
    }
}
