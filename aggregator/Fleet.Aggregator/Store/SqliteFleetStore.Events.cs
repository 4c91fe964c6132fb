using Fleet.Protos.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Data.Sqlite;

namespace Fleet.Aggregator.Store;

/// <summary>Events: columns for the filters (time, kind, cluster, node), the Event message (without its ID) as payload.</summary>
internal sealed partial class SqliteFleetStore
{
    public async Task<ulong> AppendEventAsync(Event fleetEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(fleetEvent);
        var ids = await AppendEventsAsync([fleetEvent], cancellationToken);
        return ids[0];
    }

    public Task<IReadOnlyList<ulong>> AppendEventsAsync(IReadOnlyList<Event> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0)
        {
            return Task.FromResult<IReadOnlyList<ulong>>([]);
        }

        // Encode outside the write lock: the lock covers only the inserts.
        var now = timeProvider.GetUtcNow();
        var rows = new (long TimeMs, int Kind, string Cluster, string Node, byte[] Payload)[events.Count];
        for (var i = 0; i < events.Count; i++)
        {
            var source = events[i] ?? throw new ArgumentException($"events[{i}] is null.", nameof(events));
            var stored = source.Clone();
            stored.Id = 0;
            stored.Time ??= Timestamp.FromDateTimeOffset(now);
            rows[i] = (StoreCodec.ToUnixMs(stored.Time), (int)stored.Kind, stored.Cluster, stored.Node, stored.ToByteArray());
        }

        return WriteAsync<IReadOnlyList<ulong>>(durable: false, (connection, transaction) =>
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "INSERT INTO events (time_ms, kind, cluster, node, payload) VALUES ($time, $kind, $cluster, $node, $payload) RETURNING id";
            var time = command.Parameters.Add("$time", SqliteType.Integer);
            var kind = command.Parameters.Add("$kind", SqliteType.Integer);
            var cluster = command.Parameters.Add("$cluster", SqliteType.Text);
            var node = command.Parameters.Add("$node", SqliteType.Text);
            var payload = command.Parameters.Add("$payload", SqliteType.Blob);
            command.Prepare();

            var ids = new ulong[rows.Length];
            for (var i = 0; i < rows.Length; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                time.Value = rows[i].TimeMs;
                kind.Value = rows[i].Kind;
                cluster.Value = rows[i].Cluster;
                node.Value = rows[i].Node;
                payload.Value = rows[i].Payload;
                ids[i] = (ulong)(long)command.ExecuteScalar()!;
            }

            return ids;
        }, cancellationToken);
    }

    public Task<IReadOnlyList<Event>> QueryEventsAsync(EventQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var limit = StoreLimits.Clamp(query.Limit, nameof(query));
        var kinds = query.Kinds?.Where(k => k != EventKind.Unspecified).Distinct().ToArray() ?? [];

        return ReadAsync<IReadOnlyList<Event>>(connection =>
        {
            using var command = connection.CreateCommand();
            var conditions = new List<string>();
            StoreCodec.AddTextFilter(command, conditions, "cluster", "$cluster", query.Cluster);
            StoreCodec.AddTextFilter(command, conditions, "node", "$node", query.Node);
            if (kinds.Length > 0)
            {
                var names = new string[kinds.Length];
                for (var i = 0; i < kinds.Length; i++)
                {
                    names[i] = $"$kind{i}";
                    command.Parameters.AddWithValue(names[i], (int)kinds[i]);
                }

                conditions.Add($"kind IN ({string.Join(", ", names)})");
            }

            if (query.Since is { } since)
            {
                conditions.Add("time_ms >= $since");
                command.Parameters.AddWithValue("$since", StoreCodec.ToUnixMs(since));
            }

            if (query.BeforeId is { } beforeId)
            {
                conditions.Add("id < $before");
                command.Parameters.AddWithValue("$before", beforeId > long.MaxValue ? long.MaxValue : (long)beforeId);
            }

            command.CommandText = "SELECT id, payload FROM events" + StoreCodec.Where(conditions) + " ORDER BY id DESC LIMIT $limit";
            command.Parameters.AddWithValue("$limit", limit);
            return ReadEvents(command);
        }, cancellationToken);
    }

    public Task<IReadOnlyList<Event>> GetEventsAfterAsync(ulong afterId, int limit, CancellationToken cancellationToken)
    {
        limit = StoreLimits.Clamp(limit, nameof(limit));
        return ReadAsync<IReadOnlyList<Event>>(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT id, payload FROM events WHERE id > $after ORDER BY id LIMIT $limit";
            command.Parameters.AddWithValue("$after", afterId > long.MaxValue ? long.MaxValue : (long)afterId);
            command.Parameters.AddWithValue("$limit", limit);
            return ReadEvents(command);
        }, cancellationToken);
    }

    public Task<ulong> GetLastEventIdAsync(CancellationToken cancellationToken) =>
        ReadAsync(connection =>
        {
            // AUTOINCREMENT keeps the highest ID ever used in sqlite_sequence, also after pruning.
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0)";
            return (ulong)(long)command.ExecuteScalar()!;
        }, cancellationToken);

    private static List<Event> ReadEvents(SqliteCommand command)
    {
        var result = new List<Event>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var fleetEvent = StoreCodec.ReadMessage(reader, 1, Event.Parser);
            fleetEvent.Id = (ulong)reader.GetInt64(0);
            result.Add(fleetEvent);
        }

        return result;
    }
}
