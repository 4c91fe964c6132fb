using Fleet.LocalFleet.Postgres;
using Npgsql;

namespace Fleet.Agent.Tests.Collection;

/// <summary>Ad-hoc SQL against test nodes, each call on its own unpooled connection.</summary>
internal static class Sql
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public static string UniqueName(string prefix) => $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 63)];

    public static async Task<NpgsqlConnection> OpenAsync(IPostgresNode node, string? database = null)
    {
        var builder = new NpgsqlConnectionStringBuilder(node.ConnectionString);
        if (database is not null)
        {
            builder.Database = database;
        }

        var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync().WaitAsync(Timeout);
        return connection;
    }

    public static async Task ExecuteAsync(IPostgresNode node, string sql, string? database = null)
    {
        await using var connection = await OpenAsync(node, database);
        await ExecuteAsync(connection, sql);
    }

    public static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync().WaitAsync(Timeout);
    }

    public static async Task<T> ScalarAsync<T>(IPostgresNode node, string sql, string? database = null)
    {
        await using var connection = await OpenAsync(node, database);
        await using var command = new NpgsqlCommand(sql, connection);
        var value = await command.ExecuteScalarAsync().WaitAsync(Timeout);
        return (T)Convert.ChangeType(value!, typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>An LSN as the snapshot reports it: (X &lt;&lt; 32) | Y.</summary>
    public static Task<ulong> LsnAsync(IPostgresNode node, string expression) =>
        ScalarAsync<ulong>(node, $"SELECT ({expression}) - '0/0'::pg_lsn");
}
