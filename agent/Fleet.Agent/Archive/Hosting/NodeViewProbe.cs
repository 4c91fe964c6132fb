using System.Globalization;
using Fleet.Agent.Archive.Verification;
using Fleet.Agent.Archive.Wal;
using Fleet.Agent.Collection;
using Fleet.Agent.Configuration;
using Fleet.Protos.V1;
using Npgsql;

namespace Fleet.Agent.Archive.Hosting;

/// <summary>
/// Takes the node's view for a verification: one query over the agent's read-only session (version,
/// system identifier, timeline, WAL position, wal_segment_size, wal_block_size, archive_mode,
/// pg_stat_archiver); when PostgreSQL cannot be reached, pg_controldata on the data directory.
/// </summary>
internal sealed class NodeViewProbe(PostgresConnectionFactory connections, PostgresOptions postgres)
{
    internal const string Query = """
        SELECT current_setting('server_version_num')::int,
               (SELECT system_identifier FROM pg_control_system()),
               pg_is_in_recovery(),
               CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_walfile_name(pg_current_wal_lsn()) END,
               (CASE WHEN pg_is_in_recovery() THEN coalesce(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) ELSE pg_current_wal_lsn() END)::text,
               (SELECT received_tli FROM pg_stat_wal_receiver),
               (SELECT timeline_id FROM pg_control_checkpoint()),
               (SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size'),
               current_setting('wal_block_size')::int,
               current_setting('archive_mode'),
               a.archived_count, a.last_archived_wal, extract(epoch FROM a.last_archived_time)::float8,
               a.failed_count, a.last_failed_wal, extract(epoch FROM a.last_failed_time)::float8
        FROM pg_stat_archiver a
        """;

    private static readonly TimeSpan ControlDataTimeout = TimeSpan.FromSeconds(10);

    public async Task<NodeView> ProbeAsync(CancellationToken cancellationToken)
    {
        string error;
        try
        {
            await using var connection = await connections.OpenConnectionAsync(cancellationToken);
            return await QueryAsync(connection, cancellationToken);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException or IOException or System.Net.Sockets.SocketException)
        {
            error = connections.Redact(PostgresFailure.Short(e.Message));
        }

        return await ControlDataAsync(error, cancellationToken);
    }

    internal static async Task<NodeView> QueryAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(Query, connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            throw new InvalidOperationException("pg_stat_archiver returned no row");
        }

        var versionNum = reader.GetInt32(0);
        var inRecovery = reader.GetBoolean(2);
        uint? timeline = null;
        if (!reader.IsDBNull(3) && uint.TryParse(reader.GetString(3).AsSpan(0, 8), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var written))
        {
            timeline = written;
        }
        else
        {
            var received = reader.IsDBNull(5) ? 0 : reader.GetInt32(5);
            var checkpoint = reader.IsDBNull(6) ? 0 : reader.GetInt32(6);
            var best = Math.Max(received, checkpoint);
            timeline = best > 0 ? (uint)best : null;
        }

        return new NodeView
        {
            Source = "sql",
            ServerVersionNum = versionNum,
            MajorVersion = versionNum / 10000,
            SystemIdentifier = unchecked((ulong)reader.GetInt64(1)),
            Role = inRecovery ? NodeRole.Replica : NodeRole.Primary,
            Timeline = timeline,
            CurrentLsn = !reader.IsDBNull(4) && Lsn.TryParse(reader.GetString(4), out var lsn) ? lsn : null,
            SegmentSize = reader.IsDBNull(7) ? null : (ulong)reader.GetInt64(7),
            BlockSize = reader.GetInt32(8),
            ArchiveMode = reader.GetString(9),
            Archiver = new ArchiverStats(
                (ulong)reader.GetInt64(10),
                reader.IsDBNull(11) ? null : reader.GetString(11),
                reader.IsDBNull(12) ? null : FromEpoch(reader.GetDouble(12)),
                (ulong)reader.GetInt64(13),
                reader.IsDBNull(14) ? null : reader.GetString(14),
                reader.IsDBNull(15) ? null : FromEpoch(reader.GetDouble(15))),
        };
    }

    private async Task<NodeView> ControlDataAsync(string error, CancellationToken cancellationToken)
    {
        if (postgres.DataDirectory is not { Length: > 0 } dataDirectory ||
            ToolRunner.Locate("pg_controldata", postgres.BinDirectory) is not { } tool)
        {
            return NodeView.Unknown with { Error = error };
        }

        try
        {
            var result = await ToolRunner.RunAsync(tool, ["-D", dataDirectory], ControlDataTimeout, cancellationToken);
            if (!result.Succeeded)
            {
                return NodeView.Unknown with { Error = $"{error}; pg_controldata: {result.StandardError.Trim()}" };
            }

            return ParseControlData(result.StandardOutput, ReadMajorVersion(dataDirectory)) with { Error = error };
        }
        catch (Exception e) when (e is TimeoutException or IOException or System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return NodeView.Unknown with { Error = $"{error}; pg_controldata: {e.Message}" };
        }
    }

    /// <summary>The lines of pg_controldata this needs (LC_ALL=C).</summary>
    internal static NodeView ParseControlData(string output, int? majorVersion)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in output.Split('\n'))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                values.TryAdd(line[..colon].Trim(), line[(colon + 1)..].Trim());
            }
        }

        ulong? Number(string key) => values.TryGetValue(key, out var v) && ulong.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;
        var timeline = Math.Max(Number("Latest checkpoint's TimeLineID") ?? 0, Number("Min recovery ending loc's timeline") ?? 0);
        var state = values.GetValueOrDefault("Database cluster state", string.Empty);
        return new NodeView
        {
            Source = "pg_controldata",
            MajorVersion = majorVersion,
            SystemIdentifier = Number("Database system identifier"),
            Timeline = timeline > 0 ? (uint)timeline : null,
            SegmentSize = Number("Bytes per WAL segment"),
            BlockSize = Number("WAL block size") is { } block ? (int)block : null,
            Role = state.Contains("recovery", StringComparison.Ordinal) ? NodeRole.Replica : NodeRole.Unknown,
        };
    }

    private static int? ReadMajorVersion(string dataDirectory)
    {
        try
        {
            var text = File.ReadAllText(Path.Combine(dataDirectory, "PG_VERSION")).Trim();
            return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var major) ? major : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static DateTimeOffset FromEpoch(double seconds) => DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(seconds * 1000));
}
