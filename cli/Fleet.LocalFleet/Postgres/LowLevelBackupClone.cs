using Npgsql;

namespace Fleet.LocalFleet.Postgres;

/// <summary>
/// Clones a running primary into a standby without pg_basebackup (server-only installations): a
/// non-exclusive low-level backup (start and stop on one session) around a file copy of the data directory,
/// then backup_label (and tablespace_map) from what the stop returns, standby.signal, primary_conninfo and
/// primary_slot_name. The slot is created first with its WAL reserved, so the standby streams from the
/// backup's checkpoint on without an archive.
/// </summary>
internal static class LowLevelBackupClone
{
    // Directories whose contents a base backup leaves out (as pg_basebackup does); the directories themselves are needed.
    private static readonly HashSet<string> EmptiedDirectories = new(StringComparer.Ordinal)
    {
        "pg_wal", "pg_replslot", "pg_dynshmem", "pg_notify", "pg_serial", "pg_snapshots", "pg_stat_tmp", "pg_subtrans",
    };

    // Top-level files that belong to the running primary, not to the copy.
    private static readonly HashSet<string> SkippedFiles = new(StringComparer.Ordinal)
    {
        "postmaster.pid", "postmaster.opts", "backup_label", "tablespace_map", "current_logfiles",
    };

    private const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public static async Task CloneAsync(
        IPostgresNode primary, int majorVersion, string targetDirectory, string slotName, string conninfo, string skippedLogFile,
        CancellationToken cancellationToken)
    {
        if (Directory.Exists(Path.Combine(primary.DataDirectory, "pg_tblspc")) &&
            Directory.EnumerateFileSystemEntries(Path.Combine(primary.DataDirectory, "pg_tblspc")).Any())
        {
            throw new PostgresClusterException("Cloning without pg_basebackup does not copy tablespaces, and the primary has some.");
        }

        // 15 renamed the functions and dropped exclusive mode; 13-14 take exclusive = false explicitly.
        var (startSql, stopSql) = majorVersion >= 15
            ? ("SELECT pg_backup_start($1, true)", "SELECT labelfile, spcmapfile FROM pg_backup_stop(false)")
            : ("SELECT pg_start_backup($1, true, false)", "SELECT labelfile, spcmapfile FROM pg_stop_backup(false, false)");

        await using var connection = await primary.OpenConnectionAsync(cancellationToken);
        await using (var createSlot = new NpgsqlCommand("SELECT pg_create_physical_replication_slot($1, true)", connection))
        {
            createSlot.Parameters.Add(new NpgsqlParameter { Value = slotName });
            await createSlot.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var start = new NpgsqlCommand(startSql, connection))
        {
            start.Parameters.Add(new NpgsqlParameter { Value = $"fleet clone {slotName}" });
            await start.ExecuteNonQueryAsync(cancellationToken);
        }

        string label;
        string? tablespaceMap;
        try
        {
            CopyDirectory(primary.DataDirectory, targetDirectory, topLevel: true, skippedLogFile);
        }
        finally
        {
            // Always end the backup, so a failed copy does not leave the primary in backup mode.
            await using var stop = new NpgsqlCommand(stopSql, connection);
            await using var reader = await stop.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            label = reader.GetString(0);
            tablespaceMap = reader.IsDBNull(1) ? null : reader.GetString(1);
        }

        await File.WriteAllTextAsync(Path.Combine(targetDirectory, "backup_label"), label, cancellationToken);
        if (!string.IsNullOrEmpty(tablespaceMap))
        {
            await File.WriteAllTextAsync(Path.Combine(targetDirectory, "tablespace_map"), tablespaceMap, cancellationToken);
        }

        await File.WriteAllTextAsync(Path.Combine(targetDirectory, "standby.signal"), "", cancellationToken);
        await File.AppendAllTextAsync(
            Path.Combine(targetDirectory, "postgresql.auto.conf"),
            $"primary_conninfo = {PostgresConfig.Quote(conninfo)}\nprimary_slot_name = {PostgresConfig.Quote(slotName)}\n",
            cancellationToken);
    }

    private static void CopyDirectory(string source, string target, bool topLevel, string skippedLogFile)
    {
        CreateOwnerOnlyDirectory(target);
        foreach (var entry in new DirectoryInfo(source).EnumerateFileSystemInfos())
        {
            var destination = Path.Combine(target, entry.Name);
            if (entry is DirectoryInfo directory)
            {
                if (topLevel && EmptiedDirectories.Contains(entry.Name))
                {
                    CreateOwnerOnlyDirectory(destination);
                    if (entry.Name == "pg_wal")
                    {
                        CreateOwnerOnlyDirectory(Path.Combine(destination, "archive_status"));
                    }
                }
                else
                {
                    CopyDirectory(directory.FullName, destination, topLevel: false, skippedLogFile);
                }

                continue;
            }

            if ((topLevel && (SkippedFiles.Contains(entry.Name) || entry.Name == skippedLogFile)) || entry.Name.StartsWith("pgsql_tmp", StringComparison.Ordinal))
            {
                continue;
            }

            try
            {
                File.Copy(entry.FullName, destination);
            }
            catch (FileNotFoundException)
            {
                // The server removed it meanwhile (a temporary file); WAL replay from the backup start recreates what matters.
            }
        }
    }

    // PostgreSQL refuses a data directory that others can read.
    private static void CreateOwnerOnlyDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("Local PostgreSQL clusters run on Linux only.");
        }

        Directory.CreateDirectory(path, DirectoryMode);
    }
}
