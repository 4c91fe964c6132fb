using Npgsql;

namespace Fleet.Bench.Agent.Measurement;

/// <summary>A client backend as pg_stat_activity lists it.</summary>
internal sealed record BackendInfo(int Pid, string BackendType, string Database, string ApplicationName);

/// <summary>
/// The bench's own observer session (database <c>postgres</c>, opened once, before any window, so it never
/// counts as a connection opened during one). Its backend is excluded from every figure; its statements
/// carry a marker that keeps them out of the pg_stat_statements totals.
/// </summary>
internal sealed class PostgresProbe(NpgsqlConnection connection, int ownPid, bool hasStatements) : IAsyncDisposable
{
    public const string Marker = "fleet-bench-probe";

    public int OwnPid => ownPid;

    /// <summary>pg_stat_statements is loaded and its extension exists.</summary>
    public bool HasStatements => hasStatements;

    public static async Task<PostgresProbe> OpenAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            $"SELECT /* {Marker} */ pg_backend_pid(), EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements')", connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new PostgresProbe(connection, reader.GetInt32(0), reader.GetBoolean(1));
    }

    /// <summary>Client backends and parallel workers, except this probe's own.</summary>
    public async Task<List<BackendInfo>> ClientBackendsAsync(CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            $"""
            SELECT /* {Marker} */ pid, backend_type, coalesce(datname, ''), coalesce(application_name, '')
            FROM pg_stat_activity
            WHERE pid <> pg_backend_pid() AND backend_type IN ('client backend', 'parallel worker')
            ORDER BY pid
            """,
            connection);
        var backends = new List<BackendInfo>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            backends.Add(new BackendInfo(reader.GetInt32(0), reader.GetString(1), reader.GetString(2), reader.GetString(3)));
        }

        return backends;
    }

    /// <summary>Pids of the server's background processes (checkpointer, walwriter, ...).</summary>
    public async Task<List<int>> BackgroundPidsAsync(CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            $"SELECT /* {Marker} */ pid FROM pg_stat_activity WHERE backend_type NOT IN ('client backend', 'parallel worker')",
            connection);
        var pids = new List<int>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            pids.Add(reader.GetInt32(0));
        }

        return pids;
    }

    /// <summary>pg_stat_database.sessions (sessions established, PostgreSQL 14+) per database.</summary>
    public async Task<Dictionary<string, long>> SessionsAsync(CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            $"SELECT /* {Marker} */ datname, sessions FROM pg_stat_database WHERE datname IS NOT NULL", connection);
        var sessions = new Dictionary<string, long>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            sessions[reader.GetString(0)] = reader.GetInt64(1);
        }

        return sessions;
    }

    public async Task ResetStatementsAsync(CancellationToken cancellationToken)
    {
        if (hasStatements)
        {
            await using var command = new NpgsqlCommand($"SELECT /* {Marker} */ pg_stat_statements_reset()", connection);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>Total execution time (ms) and calls of every statement since the last reset, the probe's own excluded.</summary>
    public async Task<(double ExecMs, long Calls)?> StatementsAsync(CancellationToken cancellationToken)
    {
        if (!hasStatements)
        {
            return null;
        }

        await using var command = new NpgsqlCommand(
            $"""
            SELECT /* {Marker} */ coalesce(sum(total_exec_time), 0)::float8, coalesce(sum(calls), 0)::bigint
            FROM pg_stat_statements
            WHERE query NOT LIKE '%{Marker}%'
            """,
            connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetDouble(0), reader.GetInt64(1));
    }

    public ValueTask DisposeAsync() => connection.DisposeAsync();
}
