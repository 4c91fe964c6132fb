using System.Globalization;
using System.Text.RegularExpressions;
using Fleet.Agent.Archive.Hosting;
using Fleet.Agent.Archive.Verification;
using Fleet.Agent.Archive.Wal;
using Fleet.LocalFleet.Postgres;
using Npgsql;

namespace Fleet.Agent.Tests.Archive;

/// <summary>
/// Real WAL archives for the archive tests, made once: cluster A (primary + one replica) writes data and
/// switches WAL, takes a base backup, then its replica is promoted (timeline 2, a .history and a .partial)
/// and writes more; cluster B (another system identifier) archives a few segments of its own. Both archives
/// are copied to templates that tests copy again and damage. Cluster B keeps running for the archiver test.
/// </summary>
public sealed partial class ArchiveClusterFixture : IAsyncLifetime
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(180);
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(60);

    private LocalPostgresCluster? _a;
    private LocalPostgresCluster? _b;

    /// <summary>Cluster A after the promotion: node1 is its primary on timeline 2 (node0 is stopped).</summary>
    public IPostgresCluster A => _a ?? throw new InvalidOperationException("not started");

    /// <summary>Cluster B: another cluster (other system identifier), primary only, still running and archiving.</summary>
    public IPostgresCluster B => _b ?? throw new InvalidOperationException("not started");

    /// <summary>Copy of A's archive: timeline 1, 00000002.history, the timeline-1 .partial and timeline 2.</summary>
    public string TemplateA { get; private set; } = string.Empty;

    /// <summary>Copy of B's archive.</summary>
    public string TemplateB { get; private set; } = string.Empty;

    /// <summary>A plain-format base backup of A with a backup_manifest (pg_basebackup -X none).</summary>
    public string BaseBackup { get; private set; } = string.Empty;

    /// <summary>A's view as the agent takes it (from node1, the primary on timeline 2).</summary>
    internal NodeView NodeA { get; private set; } = NodeView.Unknown;

    /// <summary>Segments of A's archive on timeline 1, oldest first (full segments only).</summary>
    public IReadOnlyList<string> Timeline1Segments { get; private set; } = [];

    /// <summary>Segments of A's archive on timeline 2, oldest first.</summary>
    public IReadOnlyList<string> Timeline2Segments { get; private set; } = [];

    /// <summary>A record (from pg_waldump) well inside a timeline-2 segment, not crossing a page: segment, LSN, total length.</summary>
    public (string Segment, ulong Lsn, int Length) Record { get; private set; }

    private string _work = string.Empty;

    public async Task InitializeAsync()
    {
        using var deadline = new CancellationTokenSource(StartTimeout);
        var ct = deadline.Token;
        var startA = LocalPostgresCluster.StartAsync(new PostgresClusterOptions { ReplicaCount = 1, StartTimeout = Step }, ct);
        var startB = LocalPostgresCluster.StartAsync(new PostgresClusterOptions { ReplicaCount = 0, StartTimeout = Step }, ct);
        try
        {
            _a = await startA;
        }
        finally
        {
            _b = await startB;
        }

        _work = Directory.CreateTempSubdirectory("fleet-archive-fixture-").FullName;
        await BuildArchiveAAsync(_a, ct);
        await BuildArchiveBAsync(_b ?? throw new InvalidOperationException("cluster B did not start"), ct);
    }

    private async Task BuildArchiveAAsync(LocalPostgresCluster a, CancellationToken ct)
    {
        var primary = a.Primary;
        await ExecuteAsync(primary, "CREATE TABLE t (id int, payload text)", ct);
        for (var i = 0; i < 2; i++)
        {
            await WriteAndSwitchAsync(a, primary, ct);
        }

        // A base backup with a manifest, in a directory the server's OS user can write.
        // pg_basebackup creates the directories itself, as the server's OS user.
        BaseBackup = Path.Combine(a.RootDirectory, "backups", "base1");
        (await a.RunPgToolAsync(
            "pg_basebackup",
            ["-h", primary.Host, "-p", primary.Port.ToString(CultureInfo.InvariantCulture), "-U", "postgres", "-D", BaseBackup, "-X", "none", "-c", "fast", "--no-sync"],
            Step, ct)).EnsureSuccess();
        for (var i = 0; i < 3; i++)
        {
            await WriteAndSwitchAsync(a, primary, ct);
        }

        await a.WaitForReplicaCatchUpAsync(Step, ct);
        await primary.StopAsync(PostgresStopMode.Fast, ct);
        var promoted = a.Replicas[0];
        await promoted.PromoteAsync(ct);
        await WaitForFileAsync(Path.Combine(a.ArchiveDirectory, "00000002.history"), ct);
        // More than a segment's worth at once: segments filled to the end, records spanning pages and segments.
        await ExecuteAsync(promoted, "INSERT INTO t SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 120000) g", ct);
        for (var i = 0; i < 2; i++)
        {
            await WriteAndSwitchAsync(a, promoted, ct);
        }

        await using (var connection = await promoted.OpenConnectionAsync(ct))
        {
            NodeA = await NodeViewProbe.QueryAsync(connection, ct);
        }

        Timeline1Segments = [.. Directory.GetFiles(a.ArchiveDirectory, "00000001????????????????").Select(Path.GetFileName).Order(StringComparer.Ordinal)!];
        Timeline2Segments = [.. Directory.GetFiles(a.ArchiveDirectory, "00000002????????????????").Select(Path.GetFileName).Order(StringComparer.Ordinal)!];
        Record = await FindRecordAsync(a, Timeline2Segments[1], ct);
        TemplateA = Copy(a.ArchiveDirectory, Path.Combine(_work, "archive-a"));
    }

    private async Task BuildArchiveBAsync(LocalPostgresCluster b, CancellationToken ct)
    {
        // Enough switches that B has every timeline-1 segment name A has.
        var last = string.Empty;
        for (var i = 0; i < 8; i++)
        {
            last = await b.SwitchWalAsync(ct);
        }

        await b.WaitForArchivedAsync(last, Step, ct);
        TemplateB = Copy(b.ArchiveDirectory, Path.Combine(_work, "archive-b"));
    }

    private static async Task WriteAndSwitchAsync(IPostgresCluster cluster, IPostgresNode node, CancellationToken ct)
    {
        await ExecuteAsync(node, "INSERT INTO t SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 3000) g", ct);
        string segment;
        await using (var connection = await node.OpenConnectionAsync(ct))
        await using (var command = new NpgsqlCommand("SELECT pg_walfile_name(pg_switch_wal())", connection))
        {
            segment = (string)(await command.ExecuteScalarAsync(ct))!;
        }

        await cluster.WaitForArchivedAsync(segment, Step, ct);
    }

    private static async Task ExecuteAsync(IPostgresNode node, string sql, CancellationToken ct)
    {
        await using var connection = await node.OpenConnectionAsync(ct);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(ct);
    }

    private static Task WaitForFileAsync(string path, CancellationToken ct) =>
        Polling.UntilAsync(_ => Task.FromResult(File.Exists(path)), Step, $"{path} to appear", ct);

    /// <summary>pg_waldump's view of a segment: a record of at least 64 bytes in the middle that does not cross a page.</summary>
    private static async Task<(string, ulong, int)> FindRecordAsync(IPostgresCluster cluster, string segment, CancellationToken ct)
    {
        var dump = await cluster.RunPgToolAsync("pg_waldump", ["-p", cluster.ArchiveDirectory, segment], Step, ct);
        var candidates = new List<(ulong Lsn, int Length)>();
        foreach (Match match in RecordLine().Matches(dump.StandardOutput))
        {
            var length = int.Parse(match.Groups["tot"].Value, CultureInfo.InvariantCulture);
            if (Lsn.TryParse(match.Groups["lsn"].Value, out var lsn) && length >= 64 && (lsn % 8192) + (ulong)length < 8192 && lsn % 8192 > 64)
            {
                candidates.Add((lsn, length));
            }
        }

        if (candidates.Count == 0)
        {
            throw new InvalidOperationException($"pg_waldump found no suitable record in {segment}: {dump.StandardError}");
        }

        var (chosen, total) = candidates[candidates.Count / 2];
        return (segment, chosen, total);
    }

    private static string Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }

        return to;
    }

    public async Task DisposeAsync()
    {
        var teardown = new List<Task>();
        if (_a is not null)
        {
            teardown.Add(_a.DisposeAsync().AsTask());
        }

        if (_b is not null)
        {
            teardown.Add(_b.DisposeAsync().AsTask());
        }

        await Task.WhenAll(teardown).WaitAsync(TimeSpan.FromSeconds(60));
        if (_work.Length > 0 && Directory.Exists(_work))
        {
            Directory.Delete(_work, recursive: true);
        }
    }

    [GeneratedRegex(@"len \(rec/tot\):\s*\d+/\s*(?<tot>\d+), tx:\s*\d+, lsn: (?<lsn>[0-9A-F]+/[0-9A-F]+)")]
    private static partial Regex RecordLine();
}

[CollectionDefinition(Name)]
public sealed class ArchiveClusterGroup : ICollectionFixture<ArchiveClusterFixture>
{
    public const string Name = "Archive: real archives";
}
