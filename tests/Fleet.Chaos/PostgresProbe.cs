using Npgsql;

namespace Fleet.Chaos;

/// <summary>What a node's own Postgres says about its role, read directly (not through Fleet).</summary>
public static class PostgresProbe
{
    /// <summary>
    /// Role and WAL receiver of one server: in recovery, receiver status (null without one), the port it
    /// connects to, the timeline it received, and whether the upstream itself lists it as streaming.
    /// </summary>
    /// <remarks>
    /// pg_stat_wal_receiver alone proves nothing: the WAL receiver sets its status to "streaming" as it
    /// starts, before START_REPLICATION has been accepted, so a standby on a diverged timeline shows
    /// "streaming" for a moment every retry (wal_retrieve_retry_interval). The upstream's
    /// pg_stat_replication state is the proof.
    /// </remarks>
    public sealed record Recovery(bool InRecovery, string? ReceiverStatus, int? SenderPort, int? ReceivedTimeline, string? UpstreamState)
    {
        public bool StreamsFrom(int port) => InRecovery && ReceiverStatus == "streaming" && SenderPort == port && UpstreamState == "streaming";

        public override string ToString() =>
            InRecovery
                ? $"in recovery, WAL receiver {ReceiverStatus ?? "absent"}{(SenderPort is { } p ? $" to port {p}" : string.Empty)}{(ReceivedTimeline is { } t ? $" (timeline {t})" : string.Empty)}, " +
                  $"upstream lists it as {UpstreamState ?? "absent"}"
                : "not in recovery (primary)";
    }

    /// <summary>
    /// The state of <paramref name="replicaName"/> (its application_name) at <paramref name="connectionString"/>,
    /// checked against <paramref name="upstreamConnectionString"/>'s pg_stat_replication.
    /// </summary>
    public static async Task<Recovery> RecoveryAsync(string connectionString, string replicaName, string upstreamConnectionString)
    {
        Recovery local;
        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(
                "SELECT pg_is_in_recovery(), r.status, r.sender_port, r.received_tli FROM (SELECT 1) one LEFT JOIN pg_stat_wal_receiver r ON true", connection);
            await using var reader = await command.ExecuteReaderAsync();
            await reader.ReadAsync();
            local = new Recovery(reader.GetBoolean(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetInt32(2),
                reader.IsDBNull(3) ? null : reader.GetInt32(3), null);
        }

        await using (var upstream = new NpgsqlConnection(upstreamConnectionString))
        {
            await upstream.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT state FROM pg_stat_replication WHERE application_name = $1 ORDER BY state = 'streaming' DESC LIMIT 1", upstream);
            command.Parameters.Add(new NpgsqlParameter { Value = replicaName });
            return local with { UpstreamState = await command.ExecuteScalarAsync() as string };
        }
    }

    /// <summary>Like <see cref="RecoveryAsync"/>, but null while either server does not accept connections.</summary>
    public static async Task<Recovery?> TryRecoveryAsync(string connectionString, string replicaName, string upstreamConnectionString)
    {
        try
        {
            return await RecoveryAsync(Short(connectionString), replicaName, Short(upstreamConnectionString));
        }
        catch (Exception ex) when (ex is NpgsqlException or IOException or TimeoutException)
        {
            return null;
        }
    }

    /// <summary>True when the server is out of recovery (it would accept writes unless fenced read-only).</summary>
    public static async Task<bool> IsWritableAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT NOT pg_is_in_recovery()", connection);
        return (bool)(await command.ExecuteScalarAsync())!;
    }

    private static string Short(string connectionString) =>
        new NpgsqlConnectionStringBuilder(connectionString) { Timeout = 2, CommandTimeout = 2 }.ConnectionString;
}
