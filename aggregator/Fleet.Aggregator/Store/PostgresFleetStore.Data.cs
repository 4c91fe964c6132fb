using Fleet.Protos.V1;
using Npgsql;
using NpgsqlTypes;

namespace Fleet.Aggregator.Store;

/// <summary>Events, alerts, epochs, published primaries, audit and sequences: the same rows and rules as the SQLite store.</summary>
internal sealed partial class PostgresFleetStore
{
    public Task<IReadOnlyList<ulong>> AppendEventsAsync(IReadOnlyList<Event> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0)
        {
            return Task.FromResult<IReadOnlyList<ulong>>([]);
        }

        var rows = EventRow.Encode(events, timeProvider.GetUtcNow());
        return WriteAsync<IReadOnlyList<ulong>>(durable: false, async (connection, transaction) =>
        {
            // Readers are not blocked; other appenders wait, so IDs commit in the order they were taken.
            await ExecuteAsync(connection, transaction, "LOCK TABLE events IN EXCLUSIVE MODE", cancellationToken);
            await using var batch = new NpgsqlBatch(connection, transaction);
            foreach (var row in rows)
            {
                var insert = new NpgsqlBatchCommand("INSERT INTO events (time_ms, kind, cluster, node, payload) VALUES (@time, @kind, @cluster, @node, @payload) RETURNING id");
                insert.Parameters.AddWithValue("time", row.TimeMs);
                insert.Parameters.AddWithValue("kind", row.Kind);
                insert.Parameters.AddWithValue("cluster", row.Cluster);
                insert.Parameters.AddWithValue("node", row.Node);
                insert.Parameters.AddWithValue("payload", row.Payload);
                batch.BatchCommands.Add(insert);
            }

            var ids = new ulong[rows.Length];
            await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
            for (var i = 0; i < ids.Length; i++)
            {
                await reader.ReadAsync(cancellationToken);
                ids[i] = (ulong)reader.GetInt64(0);
                await reader.NextResultAsync(cancellationToken);
            }

            return ids;
        }, cancellationToken);
    }

    public Task<IReadOnlyList<Event>> QueryEventsAsync(EventQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var limit = StoreLimits.Clamp(query.Limit, nameof(query));
        return ReadAsync(command => StoreSql.Events(command, query, limit), StoreSql.ReadEvent, cancellationToken);
    }

    public Task<IReadOnlyList<Event>> GetEventsAfterAsync(ulong afterId, int limit, CancellationToken cancellationToken)
    {
        limit = StoreLimits.Clamp(limit, nameof(limit));
        return ReadAsync(command => StoreSql.EventsAfter(command, afterId, limit), StoreSql.ReadEvent, cancellationToken);
    }

    public async Task<ulong> GetLastEventIdAsync(CancellationToken cancellationToken)
    {
        // The identity's sequence remembers the highest ID taken, also after pruning.
        var last = await ScalarAsync<long>("SELECT COALESCE(pg_sequence_last_value(pg_get_serial_sequence('events', 'id')), 0)", _ => { }, cancellationToken);
        return (ulong)last;
    }

    public Task<AlertUpsertResult> UpsertAlertAsync(Alert alert, CancellationToken cancellationToken)
    {
        var row = AlertRow.From(alert, timeProvider.GetUtcNow());
        return WriteAsync(durable: false, async (connection, transaction) =>
        {
            // One upsert of an ID at a time across aggregators, so a new alert gets exactly one "inserted" history entry.
            await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@space, hashtext(@id))", connection, transaction))
            {
                lockCommand.Parameters.AddWithValue("space", AdvisoryLockSpace);
                lockCommand.Parameters.AddWithValue("id", alert.Id);
                await lockCommand.ExecuteNonQueryAsync(cancellationToken);
            }

            int? storedState = null;
            byte[]? storedPayload = null;
            await using (var select = new NpgsqlCommand("SELECT state, payload FROM alerts WHERE id = @id", connection, transaction))
            {
                select.Parameters.AddWithValue("id", alert.Id);
                await using var reader = await select.ExecuteReaderAsync(cancellationToken);
                if (await reader.ReadAsync(cancellationToken))
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

            await using (var upsert = new NpgsqlCommand("""
                INSERT INTO alerts (id, rule, cluster, node, severity, state, since_ms, state_ms, payload)
                VALUES (@id, @rule, @cluster, @node, @severity, @state, @since, @stateMs, @payload)
                ON CONFLICT (id) DO UPDATE SET
                    rule = excluded.rule, cluster = excluded.cluster, node = excluded.node,
                    severity = excluded.severity, state = excluded.state, since_ms = excluded.since_ms,
                    state_ms = CASE WHEN alerts.state = excluded.state THEN alerts.state_ms ELSE excluded.state_ms END,
                    payload = excluded.payload
                """, connection, transaction))
            {
                upsert.Parameters.AddWithValue("id", alert.Id);
                upsert.Parameters.AddWithValue("rule", alert.Rule);
                upsert.Parameters.AddWithValue("cluster", alert.Cluster);
                upsert.Parameters.AddWithValue("node", alert.Node);
                upsert.Parameters.AddWithValue("severity", (int)alert.Severity);
                upsert.Parameters.AddWithValue("state", (int)alert.State);
                upsert.Parameters.AddWithValue("since", row.SinceMs);
                upsert.Parameters.AddWithValue("stateMs", row.StateMs);
                upsert.Parameters.AddWithValue("payload", row.Payload);
                await upsert.ExecuteNonQueryAsync(cancellationToken);
            }

            if (result == AlertUpsertResult.Updated)
            {
                return result;
            }

            await using var history = new NpgsqlCommand("""
                INSERT INTO alert_history (alert_id, cluster, node, state, time_ms, payload)
                VALUES (@id, @cluster, @node, @state, @time, @payload)
                """, connection, transaction);
            history.Parameters.AddWithValue("id", alert.Id);
            history.Parameters.AddWithValue("cluster", alert.Cluster);
            history.Parameters.AddWithValue("node", alert.Node);
            history.Parameters.AddWithValue("state", (int)alert.State);
            history.Parameters.AddWithValue("time", row.StateMs);
            history.Parameters.AddWithValue("payload", row.Payload);
            await history.ExecuteNonQueryAsync(cancellationToken);
            return result;
        }, cancellationToken);
    }

    public Task<IReadOnlyList<Alert>> ListActiveAlertsAsync(string? cluster, CancellationToken cancellationToken) =>
        ReadAsync(command => StoreSql.ActiveAlerts(command, cluster), reader => StoreCodec.ReadMessage(reader, 0, Alert.Parser), cancellationToken);

    public Task<IReadOnlyList<AlertHistoryEntry>> QueryAlertHistoryAsync(AlertHistoryQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var limit = StoreLimits.Clamp(query.Limit, nameof(query));
        return ReadAsync(command => StoreSql.AlertHistory(command, query, limit), StoreSql.ReadAlertHistory, cancellationToken);
    }

    public async Task<ulong> GetEpochAsync(string cluster, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(cluster);
        return (ulong)await ScalarAsync<long>("SELECT COALESCE((SELECT epoch FROM epochs WHERE cluster = @cluster), 0)", p => p.AddWithValue("cluster", cluster), cancellationToken);
    }

    public async Task<IReadOnlyDictionary<string, ulong>> ListEpochsAsync(CancellationToken cancellationToken)
    {
        var rows = await ReadAsync(command => command.CommandText = "SELECT cluster, epoch FROM epochs ORDER BY cluster", reader => (reader.GetString(0), (ulong)reader.GetInt64(1)), cancellationToken);
        return rows.ToDictionary(r => r.Item1, r => r.Item2, StringComparer.Ordinal);
    }

    public Task<EpochAdvanceResult> TryAdvanceEpochAsync(string cluster, ulong expectedCurrent, ulong newEpoch, CancellationToken cancellationToken)
    {
        var (expected, next) = StoreArguments.CheckEpochAdvance(cluster, expectedCurrent, newEpoch);
        var nowMs = StoreCodec.ToUnixMs(timeProvider.GetUtcNow());
        return WriteAsync(durable: true, async (connection, transaction) =>
        {
            // The row (if any) is locked until commit; a first epoch races on the primary key instead.
            long current;
            await using (var select = new NpgsqlCommand("SELECT COALESCE((SELECT epoch FROM epochs WHERE cluster = @cluster FOR UPDATE), 0)", connection, transaction))
            {
                select.Parameters.AddWithValue("cluster", cluster);
                current = (long)(await select.ExecuteScalarAsync(cancellationToken))!;
            }

            if (current != expected)
            {
                return new EpochAdvanceResult(false, (ulong)current);
            }

            await using var write = new NpgsqlCommand("""
                INSERT INTO epochs (cluster, epoch, updated_ms) VALUES (@cluster, @epoch, @now)
                ON CONFLICT (cluster) DO UPDATE SET epoch = excluded.epoch, updated_ms = excluded.updated_ms
                WHERE epochs.epoch = @expected
                RETURNING epoch
                """, connection, transaction);
            write.Parameters.AddWithValue("cluster", cluster);
            write.Parameters.AddWithValue("epoch", next);
            write.Parameters.AddWithValue("now", nowMs);
            write.Parameters.AddWithValue("expected", expected);
            if (await write.ExecuteScalarAsync(cancellationToken) is long)
            {
                return new EpochAdvanceResult(true, newEpoch);
            }

            // Another writer inserted the cluster's first epoch in between; report what it wrote.
            await using var reread = new NpgsqlCommand("SELECT epoch FROM epochs WHERE cluster = @cluster", connection, transaction);
            reread.Parameters.AddWithValue("cluster", cluster);
            return new EpochAdvanceResult(false, (ulong)(long)(await reread.ExecuteScalarAsync(cancellationToken))!);
        }, cancellationToken);
    }

    public Task SavePrimaryAsync(ClusterPrimary primary, CancellationToken cancellationToken)
    {
        var (epoch, pendingEpoch) = StoreArguments.CheckPrimary(primary);
        var nowMs = StoreCodec.ToUnixMs(timeProvider.GetUtcNow());
        return WriteAsync(durable: true, async (connection, transaction) =>
        {
            await using var upsert = new NpgsqlCommand("""
                INSERT INTO cluster_primaries (cluster, primary_node, epoch, pending_candidate, pending_epoch, former_primary, updated_ms)
                VALUES (@cluster, @primary, @epoch, @pending, @pendingEpoch, @former, @now)
                ON CONFLICT (cluster) DO UPDATE SET primary_node = excluded.primary_node, epoch = excluded.epoch,
                    pending_candidate = excluded.pending_candidate, pending_epoch = excluded.pending_epoch,
                    former_primary = excluded.former_primary, updated_ms = excluded.updated_ms
                """, connection, transaction);
            upsert.Parameters.AddWithValue("cluster", primary.Cluster);
            upsert.Parameters.AddWithValue("primary", primary.Primary);
            upsert.Parameters.AddWithValue("epoch", epoch);
            upsert.Parameters.Add(Nullable("pending", NpgsqlDbType.Text, primary.PendingCandidate));
            upsert.Parameters.Add(Nullable("pendingEpoch", NpgsqlDbType.Bigint, pendingEpoch));
            upsert.Parameters.Add(Nullable("former", NpgsqlDbType.Text, primary.FormerPrimary));
            upsert.Parameters.AddWithValue("now", nowMs);
            return await upsert.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);
    }

    public Task<IReadOnlyList<ClusterPrimary>> ListPrimariesAsync(CancellationToken cancellationToken) =>
        ReadAsync(command => command.CommandText = StoreSql.SelectPrimaries, StoreSql.ReadPrimary, cancellationToken);

    public Task<long> AppendAuditAsync(AuditRecord record, CancellationToken cancellationToken)
    {
        var reasons = StoreArguments.CheckAudit(record);
        return WriteAsync(durable: true, async (connection, transaction) =>
        {
            await using var command = new NpgsqlCommand("""
                INSERT INTO audit (time_ms, actor, action, cluster, node, outcome, reasons, details)
                VALUES (@time, @actor, @action, @cluster, @node, @outcome, @reasons::json, @details::json)
                RETURNING id
                """, connection, transaction);
            command.Parameters.AddWithValue("time", StoreCodec.ToUnixMs(record.Time));
            command.Parameters.AddWithValue("actor", record.Actor);
            command.Parameters.AddWithValue("action", record.Action);
            command.Parameters.AddWithValue("cluster", record.Cluster ?? string.Empty);
            command.Parameters.AddWithValue("node", record.Node ?? string.Empty);
            command.Parameters.AddWithValue("outcome", record.Outcome);
            command.Parameters.AddWithValue("reasons", reasons);
            command.Parameters.Add(Nullable("details", NpgsqlDbType.Text, record.DetailsJson));
            return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
        }, cancellationToken);
    }

    public Task<IReadOnlyList<AuditRecord>> QueryAuditAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var limit = StoreLimits.Clamp(query.Limit, nameof(query));
        return ReadAsync(command => StoreSql.Audit(command, query, limit, asText: true), StoreSql.ReadAudit, cancellationToken);
    }

    public Task<long> NextSequenceValueAsync(string name, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return WriteAsync(durable: true, async (connection, transaction) =>
        {
            await using var command = new NpgsqlCommand("""
                INSERT INTO sequences (name, value) VALUES (@name, 1)
                ON CONFLICT (name) DO UPDATE SET value = sequences.value + 1
                RETURNING value
                """, connection, transaction);
            command.Parameters.AddWithValue("name", name);
            return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
        }, cancellationToken);
    }
}
