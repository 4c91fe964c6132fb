using System.Globalization;
using System.Text;

namespace Fleet.LocalFleet.Postgres;

/// <summary>
/// The postgresql.conf block shared by every node (replicas inherit it through pg_basebackup).
/// Per-node settings (port, cluster_name) go on the postmaster command line instead, so one file serves all.
/// </summary>
internal static class PostgresConfig
{
    public static string Render(PostgresClusterOptions options, string socketDirectory, string archiveDirectory)
    {
        // Room for the replicas plus pg_basebackup's own WAL stream and ad-hoc tools in tests.
        var senders = options.ReplicaCount + 4;
        var settings = new List<(string Name, string Value)>
        {
            ("listen_addresses", "127.0.0.1"),
            ("unix_socket_directories", socketDirectory),
            ("max_connections", "40"),
            ("shared_buffers", "16MB"),
            // Test data is disposable; skipping fsync makes initdb-to-streaming several times faster.
            ("fsync", "off"),
            ("wal_level", "replica"),
            ("max_wal_senders", senders.ToString(CultureInfo.InvariantCulture)),
            ("max_replication_slots", senders.ToString(CultureInfo.InvariantCulture)),
            ("wal_keep_size", "64MB"),
            ("max_wal_size", "128MB"),
            ("min_wal_size", "32MB"),
            ("hot_standby", "on"),
            // Replicas report replay progress every second, so catch-up waits end promptly.
            ("wal_receiver_status_interval", "1s"),
            ("archive_mode", options.ArchiveEnabled ? "on" : "off"),
            ("archive_command", $"test ! -f {archiveDirectory}/%f && cp %p {archiveDirectory}/%f"),
            ("logging_collector", "off"),
            ("log_line_prefix", "%m [%p] %q%a "),
            ("log_replication_commands", "on"),
        };
        settings.AddRange(options.ExtraSettings.Select(setting => (setting.Key, setting.Value)));

        var block = new StringBuilder();
        block.Append('\n').Append("# Fleet.Testing cluster settings; later lines win.").Append('\n');
        foreach (var (name, value) in settings)
        {
            block.Append(name).Append(" = ").Append(Quote(value)).Append('\n');
        }

        return block.ToString();
    }

    /// <summary>Single-quoted configuration string; PostgreSQL accepts any setting's value in this form.</summary>
    public static string Quote(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";
}
