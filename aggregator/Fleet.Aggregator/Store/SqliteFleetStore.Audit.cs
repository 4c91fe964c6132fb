using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Fleet.Aggregator.Store;

/// <summary>The audit log: plain columns; reasons as a JSON array, details as a JSON document. Fsync'd.</summary>
internal sealed partial class SqliteFleetStore
{
    public Task<long> AppendAuditAsync(AuditRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentException.ThrowIfNullOrEmpty(record.Actor, nameof(record));
        ArgumentException.ThrowIfNullOrEmpty(record.Action, nameof(record));
        ArgumentException.ThrowIfNullOrEmpty(record.Outcome, nameof(record));
        if (record.DetailsJson is { } details)
        {
            try
            {
                using var _ = JsonDocument.Parse(details);
            }
            catch (JsonException ex)
            {
                throw new ArgumentException($"AuditRecord.DetailsJson is not valid JSON: {ex.Message}", nameof(record), ex);
            }
        }

        var reasons = EncodeReasons(record.Reasons);
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
            var conditions = new List<string>();
            StoreCodec.AddTextFilter(command, conditions, "cluster", "$cluster", query.Cluster);
            StoreCodec.AddTextFilter(command, conditions, "actor", "$actor", query.Actor);
            StoreCodec.AddTextFilter(command, conditions, "action", "$action", query.Action);
            if (query.Since is { } since)
            {
                conditions.Add("time_ms >= $since");
                command.Parameters.AddWithValue("$since", StoreCodec.ToUnixMs(since));
            }

            if (query.BeforeId is { } beforeId)
            {
                conditions.Add("id < $before");
                command.Parameters.AddWithValue("$before", beforeId);
            }

            command.CommandText = "SELECT id, time_ms, actor, action, cluster, node, outcome, reasons, details FROM audit"
                + StoreCodec.Where(conditions) + " ORDER BY id DESC LIMIT $limit";
            command.Parameters.AddWithValue("$limit", limit);
            return ReadAuditRecords(command);
        }, cancellationToken);
    }

    private static List<AuditRecord> ReadAuditRecords(SqliteCommand command)
    {
        var result = new List<AuditRecord>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            result.Add(new AuditRecord
            {
                Id = reader.GetInt64(0),
                Time = StoreCodec.FromUnixMs(reader.GetInt64(1)),
                Actor = reader.GetString(2),
                Action = reader.GetString(3),
                Cluster = reader.GetString(4),
                Node = reader.GetString(5),
                Outcome = reader.GetString(6),
                Reasons = DecodeReasons(reader.GetString(7)),
                DetailsJson = reader.IsDBNull(8) ? null : reader.GetString(8),
            });
        }

        return result;
    }

    private static string EncodeReasons(IReadOnlyList<string>? reasons)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (var reason in reasons ?? [])
            {
                json.WriteStringValue(reason ?? string.Empty);
            }

            json.WriteEndArray();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static string[] DecodeReasons(string json)
    {
        using var document = JsonDocument.Parse(json);
        var reasons = new string[document.RootElement.GetArrayLength()];
        var i = 0;
        foreach (var element in document.RootElement.EnumerateArray())
        {
            reasons[i++] = element.GetString() ?? string.Empty;
        }

        return reasons;
    }
}
