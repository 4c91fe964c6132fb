using Fleet.Protos.V1;
using Microsoft.Data.Sqlite;

namespace Fleet.Aggregator.Store;

/// <summary>Events: columns for the filters (time, kind, cluster, node), the Event message (without its ID) as payload.</summary>
internal sealed partial class SqliteFleetStore
{
    public Task<IReadOnlyList<ulong>> AppendEventsAsync(IReadOnlyList<Event> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0)
        {
            return Task.FromResult<IReadOnlyList<ulong>>([]);
        }

        // Encode outside the write lock: the lock covers only the inserts.
        var rows = EventRow.Encode(events, timeProvider.GetUtcNow());

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
        return ReadAsync<IReadOnlyList<Event>>(connection =>
        {
            using var command = connection.CreateCommand();
            StoreSql.Events(command, query, limit);
            return ReadAll(command, StoreSql.ReadEvent);
        }, cancellationToken);
    }

    public Task<IReadOnlyList<Event>> GetEventsAfterAsync(ulong afterId, int limit, CancellationToken cancellationToken)
    {
        limit = StoreLimits.Clamp(limit, nameof(limit));
        return ReadAsync<IReadOnlyList<Event>>(connection =>
        {
            using var command = connection.CreateCommand();
            StoreSql.EventsAfter(command, afterId, limit);
            return ReadAll(command, StoreSql.ReadEvent);
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
}
