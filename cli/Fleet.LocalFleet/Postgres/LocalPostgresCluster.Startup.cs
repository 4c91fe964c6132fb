using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;

namespace Fleet.LocalFleet.Postgres;

// Start-up: initdb, configure and start the primary, clone and start each replica, wait for streaming.
public sealed partial class LocalPostgresCluster
{
    /// <summary>Cluster directories are named "fleet-pg-XXXXXX" in the system temp directory.</summary>
    public const string DirectoryPrefix = "fleet-pg-";

    /// <summary>
    /// Starts a primary and <see cref="PostgresClusterOptions.ReplicaCount"/> streaming replicas in a fresh
    /// temp directory and returns once every replica streams. On failure or cancellation everything
    /// started so far is stopped and deleted; failures throw <see cref="PostgresClusterException"/> with
    /// the tail of the server logs.
    /// </summary>
    public static async Task<LocalPostgresCluster> StartAsync(
        PostgresClusterOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new PostgresClusterOptions();
        options.Validate();
        var log = options.Log ?? (static _ => { });
        var installation = await PostgresInstallation.LocateAsync(options.BinDirectory, cancellationToken);

        var parent = Path.GetTempPath();
        // The path ends up unquoted in archive_command and in pg_ctl -o, both of which go through a shell.
        if (!SafePath().IsMatch(parent))
        {
            throw new PostgresClusterException(
                $"Temp directory '{parent}' contains characters a shell would split or expand; set TMPDIR to a plain path such as /tmp.");
        }

        StaleClusterSweeper.Sweep(parent, DirectoryPrefix, log);
        var cluster = new LocalPostgresCluster(
            installation, Directory.CreateTempSubdirectory(DirectoryPrefix).FullName, options, log);
        LiveClusterRegistry.Add(cluster);

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.StartTimeout);
        try
        {
            await cluster.BootstrapAsync(deadline.Token);
            return cluster;
        }
        catch (Exception e)
        {
            // Read the logs before teardown deletes them.
            var description = cluster.DescribeStartFailure(e, timedOut: deadline.IsCancellationRequested);
            var teardownProblem = await TryDisposeAsync(cluster);
            if (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException(
                    $"Cluster start was cancelled; {cluster.RootDirectory} was torn down.{teardownProblem}", e, cancellationToken);
            }

            throw new PostgresClusterException(description + teardownProblem, e);
        }
    }

    private async Task BootstrapAsync(CancellationToken cancellationToken)
    {
        log($"cluster directory {RootDirectory}; {tools.Installation}");
        await File.WriteAllTextAsync(
            Path.Combine(RootDirectory, StaleClusterSweeper.OwnerFileName),
            Environment.ProcessId.ToString(CultureInfo.InvariantCulture),
            cancellationToken);
        Directory.CreateDirectory(ArchiveDirectory);
        await ServerOsUser.GiveOwnershipAsync(RootDirectory, cancellationToken);

        startStep = $"initialising {primary.Name} with initdb";
        await InitPrimaryAsync(cancellationToken);
        startStep = $"starting {primary.Name}";
        await primary.StartAsync(portMayChange: true, cancellationToken);
        foreach (var replica in replicas)
        {
            startStep = $"cloning {replica.Name} {(tools.Installation.HasTool("pg_basebackup") ? "with pg_basebackup" : "with the low-level backup API")}";
            await CloneReplicaAsync(replica, cancellationToken);
            startStep = $"starting {replica.Name}";
            await replica.StartAsync(portMayChange: true, cancellationToken);
        }

        startStep = "waiting for every replica to stream";
        await WaitForStreamingAsync(cancellationToken);
        if (options.Synchronous != SynchronousReplication.Off)
        {
            startStep = "enabling synchronous replication";
            await EnableSynchronousReplicationAsync(cancellationToken);
        }

        log($"cluster ready: primary {primary.Name} on port {primary.Port}, {replicas.Count} replica(s)");
    }

    private async Task InitPrimaryAsync(CancellationToken cancellationToken)
    {
        // Trust auth covers local, loopback and replication connections; checksums let pg_rewind work later.
        string[] arguments = ["-D", primary.DataDirectory, "-U", "postgres", "--auth=trust", "--data-checksums",
            "--encoding=UTF8", "--locale=C", "--no-sync"];
        if (options.PrimaryWalDirectory is { } walDirectory)
        {
            arguments = [.. arguments, "--waldir", walDirectory];
        }

        (await RunStartupToolAsync("initdb", arguments, cancellationToken)).EnsureSuccess();

        // Appending keeps the file owned by the server's OS user.
        await File.AppendAllTextAsync(
            Path.Combine(primary.DataDirectory, "postgresql.conf"),
            PostgresConfig.Render(options, RootDirectory, ArchiveDirectory),
            cancellationToken);
        log($"{primary.Name}: initialised");
    }

    private async Task CloneReplicaAsync(LocalPostgresNode replica, CancellationToken cancellationToken)
    {
        var conninfo = $"host={primary.Host} port={primary.Port} user=postgres application_name={replica.Name}";
        if (!tools.Installation.HasTool("pg_basebackup"))
        {
            // Server-only installations (e.g. the fetched binaries of other majors) have no pg_basebackup.
            await LowLevelBackupClone.CloneAsync(
                primary, tools.Installation.MajorVersion, replica.DataDirectory, replica.Name, conninfo,
                Path.GetFileName(primary.LogPath), cancellationToken);
            await ServerOsUser.GiveOwnershipAsync(replica.DataDirectory, cancellationToken);
            log($"{replica.Name}: cloned from {primary.Name} with the low-level backup API and slot {replica.Name}");
            return;
        }

        // -R writes standby.signal and primary_conninfo (with our application_name); -C -S creates the
        // replica's own physical slot so the primary keeps WAL for it even while it is stopped.
        (await RunStartupToolAsync(
            "pg_basebackup",
            ["-d", conninfo, "-D", replica.DataDirectory, "-R", "-C", "-S", replica.Name,
             "-X", "stream", "--checkpoint=fast", "--no-sync"],
            cancellationToken)).EnsureSuccess();

        // The copy includes the primary's log; the replica's log should start with its own lines.
        File.Delete(replica.LogPath);
        log($"{replica.Name}: cloned from {primary.Name} with slot {replica.Name}");
    }

    private async Task WaitForStreamingAsync(CancellationToken cancellationToken)
    {
        if (replicas.Count == 0)
        {
            return;
        }

        var expected = replicas.Select(replica => replica.Name).ToHashSet(StringComparer.Ordinal);
        await Polling.UntilAsync(
            async token => expected.IsSubsetOf(await QueryPrimaryStringsAsync(
                "SELECT application_name FROM pg_stat_replication WHERE state = 'streaming'", token)),
            options.StartTimeout,
            $"replicas {string.Join(", ", expected)} to stream from {primary.Name}",
            cancellationToken);
        log($"every replica streams from {primary.Name}");
    }

    private async Task EnableSynchronousReplicationAsync(CancellationToken cancellationToken)
    {
        var first = options.Synchronous == SynchronousReplication.FirstReplica;
        var standbyNames = $"{(first ? "FIRST" : "ANY")} 1 ({string.Join(", ", replicas.Select(replica => replica.Name))})";
        // FIRST: the first listed standby is 'sync', the rest stand by as 'potential'. ANY: all are 'quorum'.
        var expected = replicas
            .Select((replica, index) => $"{replica.Name}={(first ? (index == 0 ? "sync" : "potential") : "quorum")}")
            .ToHashSet(StringComparer.Ordinal);

        // ALTER SYSTEM writes only the primary's postgresql.auto.conf, so a promoted replica does not wait for itself.
        await using (var connection = await primary.OpenConnectionAsync(cancellationToken))
        await using (var command = new NpgsqlCommand(
            $"ALTER SYSTEM SET synchronous_standby_names = {PostgresConfig.Quote(standbyNames)}", connection))
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
            command.CommandText = "SELECT pg_reload_conf()";
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        // Each walsender picks up the reload on its own schedule; until then it still reports 'async'.
        await Polling.UntilAsync(
            async token => expected.IsSubsetOf(await QueryPrimaryStringsAsync(
                "SELECT application_name || '=' || sync_state FROM pg_stat_replication", token)),
            options.StartTimeout,
            $"sync states {string.Join(", ", expected)} after synchronous_standby_names = '{standbyNames}'",
            cancellationToken);
        log($"synchronous_standby_names = '{standbyNames}'");
    }

    private async Task<HashSet<string>> QueryPrimaryStringsAsync(string sql, CancellationToken cancellationToken)
    {
        await using var connection = await primary.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var values = new HashSet<string>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
        {
            values.Add(reader.GetString(0));
        }

        return values;
    }

    private Task<PgToolResult> RunStartupToolAsync(string toolName, IEnumerable<string> arguments, CancellationToken cancellationToken) =>
        tools.RunAsync(toolName, arguments, options.StartTimeout, cancellationToken);

    private string DescribeStartFailure(Exception error, bool timedOut)
    {
        var what = timedOut ? $"did not start within {options.StartTimeout}" : "failed to start";
        // A node that failed to start already quoted its own log in the error.
        var sections = nodes
            .Where(node => File.Exists(node.LogPath) && !error.Message.Contains(node.LogPath, StringComparison.Ordinal))
            .Select(node => Environment.NewLine + LogFile.Section(node.Name, node.LogPath, lineCount: 30));
        return $"PostgreSQL cluster in {RootDirectory} {what} while {startStep}: {error.Message.TrimEnd()}" +
            string.Concat(sections);
    }

    private static async Task<string> TryDisposeAsync(LocalPostgresCluster cluster)
    {
        try
        {
            await cluster.DisposeAsync();
            return "";
        }
        catch (PostgresClusterException e)
        {
            return $"{Environment.NewLine}Teardown also failed: {e.Message}";
        }
    }

    [GeneratedRegex("^[A-Za-z0-9/_.+-]+$")]
    private static partial Regex SafePath();
}
