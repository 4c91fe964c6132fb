using System.Data.Common;
using Fleet.Protos.V1;

namespace Fleet.Aggregator.Store;

/// <summary>
/// The queries both store implementations run, built on any ADO.NET command: the SQL is the same in
/// SQLite and PostgreSQL (named parameters with '@'), so it is written once. Every condition is
/// constant text; every value is a bound parameter.
/// </summary>
internal static class StoreSql
{
    public const string ActiveAlertStates = "state IN (1, 2) /* PENDING, FIRING */";

    public static void Events(DbCommand command, EventQuery query, int limit)
    {
        var conditions = new List<string>();
        TextFilter(command, conditions, "cluster", query.Cluster);
        TextFilter(command, conditions, "node", query.Node);
        var kinds = query.Kinds?.Where(k => k != EventKind.Unspecified).Distinct().ToArray() ?? [];
        if (kinds.Length > 0)
        {
            var names = new string[kinds.Length];
            for (var i = 0; i < kinds.Length; i++)
            {
                names[i] = Add(command, $"@kind{i}", (int)kinds[i]);
            }

            conditions.Add($"kind IN ({string.Join(", ", names)})");
        }

        if (query.Since is { } since)
        {
            conditions.Add("time_ms >= " + Add(command, "@since", StoreCodec.ToUnixMs(since)));
        }

        if (query.BeforeId is { } beforeId)
        {
            conditions.Add("id < " + Add(command, "@before", beforeId > long.MaxValue ? long.MaxValue : (long)beforeId));
        }

        command.CommandText = "SELECT id, payload FROM events" + StoreCodec.Where(conditions) + " ORDER BY id DESC LIMIT " + Add(command, "@limit", limit);
    }

    public static void EventsAfter(DbCommand command, ulong afterId, int limit)
    {
        command.CommandText = "SELECT id, payload FROM events WHERE id > @after ORDER BY id LIMIT @limit";
        Add(command, "@after", afterId > long.MaxValue ? long.MaxValue : (long)afterId);
        Add(command, "@limit", limit);
    }

    /// <summary>Reads the rows of <see cref="Events"/> or <see cref="EventsAfter"/>.</summary>
    public static Event ReadEvent(DbDataReader reader)
    {
        var fleetEvent = StoreCodec.ReadMessage(reader, 1, Event.Parser);
        fleetEvent.Id = (ulong)reader.GetInt64(0);
        return fleetEvent;
    }

    public static void ActiveAlerts(DbCommand command, string? cluster)
    {
        var conditions = new List<string> { ActiveAlertStates };
        TextFilter(command, conditions, "cluster", cluster);
        command.CommandText = "SELECT payload FROM alerts" + StoreCodec.Where(conditions) + " ORDER BY severity DESC, since_ms, id";
    }

    public static void AlertHistory(DbCommand command, AlertHistoryQuery query, int limit)
    {
        var conditions = new List<string>();
        TextFilter(command, conditions, "cluster", query.Cluster);
        if (query.State is { } state && state != AlertState.Unspecified)
        {
            conditions.Add("state = " + Add(command, "@state", (int)state));
        }

        if (query.Since is { } since)
        {
            conditions.Add("time_ms >= " + Add(command, "@since", StoreCodec.ToUnixMs(since)));
        }

        command.CommandText = "SELECT seq, time_ms, payload FROM alert_history" + StoreCodec.Where(conditions) + " ORDER BY seq DESC LIMIT " + Add(command, "@limit", limit);
    }

    public static AlertHistoryEntry ReadAlertHistory(DbDataReader reader) =>
        new(reader.GetInt64(0), StoreCodec.FromUnixMs(reader.GetInt64(1)), StoreCodec.ReadMessage(reader, 2, Alert.Parser));

    /// <summary>Selects the audit columns; <paramref name="asText"/> wraps the JSON columns (PostgreSQL's json type) in a cast to text.</summary>
    public static void Audit(DbCommand command, AuditQuery query, int limit, bool asText)
    {
        var conditions = new List<string>();
        TextFilter(command, conditions, "cluster", query.Cluster);
        TextFilter(command, conditions, "actor", query.Actor);
        TextFilter(command, conditions, "action", query.Action);
        if (query.Since is { } since)
        {
            conditions.Add("time_ms >= " + Add(command, "@since", StoreCodec.ToUnixMs(since)));
        }

        if (query.BeforeId is { } beforeId)
        {
            conditions.Add("id < " + Add(command, "@before", beforeId));
        }

        var json = asText ? "reasons::text, details::text" : "reasons, details";
        command.CommandText = $"SELECT id, time_ms, actor, action, cluster, node, outcome, {json} FROM audit"
            + StoreCodec.Where(conditions) + " ORDER BY id DESC LIMIT " + Add(command, "@limit", limit);
    }

    public static AuditRecord ReadAudit(DbDataReader reader) => new()
    {
        Id = reader.GetInt64(0),
        Time = StoreCodec.FromUnixMs(reader.GetInt64(1)),
        Actor = reader.GetString(2),
        Action = reader.GetString(3),
        Cluster = reader.GetString(4),
        Node = reader.GetString(5),
        Outcome = reader.GetString(6),
        Reasons = StoreArguments.DecodeReasons(reader.GetString(7)),
        DetailsJson = reader.IsDBNull(8) ? null : reader.GetString(8),
    };

    public const string SelectPrimaries = "SELECT cluster, primary_node, epoch, pending_candidate, pending_epoch, former_primary, updated_ms FROM cluster_primaries ORDER BY cluster";

    public static ClusterPrimary ReadPrimary(DbDataReader reader) =>
        new(reader.GetString(0), reader.GetString(1), (ulong)reader.GetInt64(2), reader.IsDBNull(3) ? null : reader.GetString(3), reader.IsDBNull(4) ? 0 : (ulong)reader.GetInt64(4))
        {
            FormerPrimary = reader.IsDBNull(5) ? null : reader.GetString(5),
            UpdatedAt = StoreCodec.FromUnixMs(reader.GetInt64(6)),
        };

    /// <summary>Binds <paramref name="value"/> as <paramref name="name"/> and returns the name, for the SQL text.</summary>
    public static string Add(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
        return name;
    }

    /// <summary>Adds "column = @column" when <paramref name="value"/> is not empty.</summary>
    private static void TextFilter(DbCommand command, List<string> conditions, string column, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            conditions.Add($"{column} = " + Add(command, "@" + column, value));
        }
    }
}
