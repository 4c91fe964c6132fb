using System.Text.RegularExpressions;
using Npgsql;

namespace Fleet.LocalFleet.Postgres;

/// <summary>
/// A primary and streaming replicas run from the locally installed server binaries (Linux only), in one
/// temp directory that disposal deletes. Start with <see cref="StartAsync"/>:
/// <code>
/// await using var cluster = await LocalPostgresCluster.StartAsync(new() { ReplicaCount = 2 }, ct);
/// await using var connection = await cluster.Primary.OpenConnectionAsync(ct);
/// </code>
/// Test projects share one instance across tests by wrapping it in an xunit IAsyncLifetime fixture.
/// </summary>
public sealed partial class LocalPostgresCluster : IPostgresCluster
{
    private static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(60);

    private readonly PostgresClusterOptions options;
    private readonly Action<string> log;
    private readonly PgToolRunner tools;
    private readonly LocalPostgresNode primary;
    private readonly IReadOnlyList<LocalPostgresNode> replicas;
    private readonly IReadOnlyList<LocalPostgresNode> nodes;
    private readonly Lock disposalGate = new();
    private Task? disposal;
    private string startStep = "creating the cluster directory";

    private LocalPostgresCluster(
        PostgresInstallation installation, string rootDirectory, PostgresClusterOptions options, Action<string> log)
    {
        this.options = options;
        this.log = log;
        RootDirectory = rootDirectory;
        ArchiveDirectory = Path.Combine(rootDirectory, "archive");
        tools = new PgToolRunner(installation, rootDirectory);
        nodes = Enumerable.Range(0, options.ReplicaCount + 1)
            .Select(index => CreateNode($"node{index}"))
            .ToList();
        primary = nodes[0];
        replicas = nodes.Skip(1).ToList();
    }

    public IPostgresNode Primary => primary;

    public IReadOnlyList<IPostgresNode> Replicas => replicas;

    public IReadOnlyList<IPostgresNode> Nodes => nodes;

    public string ArchiveDirectory { get; }

    public string BinDirectory => tools.Installation.BinDirectory;

    public string RootDirectory { get; }

    public PostgresInstallation Installation => tools.Installation;

    public Task<PgToolResult> RunPgToolAsync(
        string toolName, IEnumerable<string> arguments, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        tools.RunAsync(toolName, arguments, timeout ?? DefaultWait, cancellationToken);

    public async Task<string> SwitchWalAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await primary.OpenConnectionAsync(cancellationToken);
        // pg_switch_wal does nothing when the current segment is empty; a non-transactional message
        // guarantees there is something to switch away from.
        await using var command = new NpgsqlCommand(
            "SELECT pg_logical_emit_message(false, 'fleet-testing', 'switch-wal')", connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
        command.CommandText = "SELECT pg_walfile_name(pg_switch_wal())";
        return (string)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task WaitForReplicaCatchUpAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        string target;
        await using (var connection = await primary.OpenConnectionAsync(cancellationToken))
        await using (var command = new NpgsqlCommand("SELECT pg_current_wal_lsn()::text", connection))
        {
            target = (string)(await command.ExecuteScalarAsync(cancellationToken))!;
        }

        await Task.WhenAll(replicas.Select(replica => Polling.UntilAsync(
            token => HasReplayedAsync(replica, target, token),
            timeout ?? DefaultWait,
            $"{replica.Name} to replay WAL up to {target}",
            cancellationToken)));
    }

    public async Task WaitForArchivedAsync(string segmentName, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        if (!WalSegmentName().IsMatch(segmentName))
        {
            throw new ArgumentException($"'{segmentName}' is not a WAL segment name.", nameof(segmentName));
        }

        if (!options.ArchiveEnabled)
        {
            throw new InvalidOperationException("This cluster was started with ArchiveEnabled = false.");
        }

        try
        {
            // A server that archives marks a segment .done only after archive_command succeeded, so the copy
            // is complete. Standbys (standby.signal present) mark streamed segments .done without archiving.
            await Polling.UntilAsync(
                _ => Task.FromResult(
                    File.Exists(Path.Combine(ArchiveDirectory, segmentName)) &&
                    nodes.Any(node =>
                        !File.Exists(Path.Combine(node.DataDirectory, "standby.signal")) &&
                        File.Exists(Path.Combine(node.DataDirectory, "pg_wal", "archive_status", segmentName + ".done")))),
                timeout ?? DefaultWait,
                $"WAL segment {segmentName} to be archived into {ArchiveDirectory}",
                cancellationToken);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException(e.Message + Environment.NewLine + LogFile.Section(primary.Name, primary.LogPath), e);
        }
    }

    /// <summary>Stops every server (immediate, then SIGKILL) and deletes <see cref="RootDirectory"/>; safe to call repeatedly and concurrently.</summary>
    public ValueTask DisposeAsync()
    {
        lock (disposalGate)
        {
            disposal ??= TearDownAsync();
            return new ValueTask(disposal);
        }
    }

    private async Task TearDownAsync()
    {
        var problems = new List<string>();
        try
        {
            var survivors = await Task.WhenAll(nodes.Select(node => node.TerminateAsync()));
            problems.AddRange(survivors.OfType<string>());
            if (await TryDeleteRootDirectoryAsync() is { } deleteProblem)
            {
                problems.Add(deleteProblem);
            }
        }
        finally
        {
            LiveClusterRegistry.Remove(this);
        }

        if (problems.Count > 0)
        {
            throw new PostgresClusterException($"Teardown of {RootDirectory} was incomplete: {string.Join(" ", problems)}");
        }

        log($"cluster {RootDirectory} stopped and deleted");
    }

    private async Task<string?> TryDeleteRootDirectoryAsync()
    {
        // A server killed a moment ago may still be removing its own files; retry briefly.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                Directory.Delete(RootDirectory, recursive: true);
                return null;
            }
            catch (DirectoryNotFoundException)
            {
                return null;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException && attempt < 10)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return $"Could not delete {RootDirectory}: {e.Message}";
            }
        }
    }

    private static async Task<bool> HasReplayedAsync(LocalPostgresNode replica, string targetLsn, CancellationToken cancellationToken)
    {
        await using var connection = await replica.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            "SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false)", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = targetLsn });
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private LocalPostgresNode CreateNode(string name) => new(
        name,
        Path.Combine(RootDirectory, name),
        RootDirectory,
        $"{Path.GetFileName(RootDirectory)}/{name}",
        tools,
        log);

    [GeneratedRegex("^[0-9A-F]{24}$")]
    private static partial Regex WalSegmentName();
}
