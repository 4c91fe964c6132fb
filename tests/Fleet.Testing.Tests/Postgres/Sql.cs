using Fleet.LocalFleet.Postgres;
using Npgsql;

namespace Fleet.Testing.Tests.Postgres;

/// <summary>Parameterised one-shot queries against a node, each bounded by <see cref="TestTimeouts.Default"/>.</summary>
internal static class Sql
{
    public static async Task<T> ScalarAsync<T>(IPostgresNode node, string sql, params object[] parameters)
    {
        await using var connection = await node.OpenConnectionAsync().DefaultTimeout();
        await using var command = Command(connection, sql, parameters);
        return (T)(await command.ExecuteScalarAsync().DefaultTimeout())!;
    }

    public static async Task ExecuteAsync(IPostgresNode node, string sql, params object[] parameters)
    {
        await using var connection = await node.OpenConnectionAsync().DefaultTimeout();
        await using var command = Command(connection, sql, parameters);
        await command.ExecuteNonQueryAsync().DefaultTimeout();
    }

    /// <summary>application_name → (state, sync_state) from the primary's pg_stat_replication.</summary>
    public static async Task<Dictionary<string, (string State, string SyncState)>> ReplicationAsync(IPostgresNode primary)
    {
        await using var connection = await primary.OpenConnectionAsync().DefaultTimeout();
        await using var command = Command(connection, "SELECT application_name, state, sync_state FROM pg_stat_replication", []);
        await using var reader = await command.ExecuteReaderAsync().DefaultTimeout();
        var rows = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
        while (await reader.ReadAsync().DefaultTimeout())
        {
            rows[reader.GetString(0)] = (reader.GetString(1), reader.GetString(2));
        }

        return rows;
    }

    /// <summary>Polls until <paramref name="replicaName"/> streams from <paramref name="primary"/>.</summary>
    public static Task WaitUntilStreamingAsync(IPostgresNode primary, string replicaName) =>
        Polling.UntilAsync(
            async _ => (await ReplicationAsync(primary)).TryGetValue(replicaName, out var row) && row.State == "streaming",
            ClusterTimeouts.Condition,
            $"{replicaName} to stream from {primary.Name}");

    private static NpgsqlCommand Command(NpgsqlConnection connection, string sql, object[] parameters)
    {
        var command = new NpgsqlCommand(sql, connection);
        foreach (var value in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        return command;
    }
}
