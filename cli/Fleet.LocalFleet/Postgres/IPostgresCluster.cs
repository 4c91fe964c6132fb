namespace Fleet.LocalFleet.Postgres;

/// <summary>
/// A running primary with streaming replicas. Disposing stops every server and deletes every file;
/// one instance can be shared by many tests (wrap it in an xunit class or collection fixture).
/// </summary>
public interface IPostgresCluster : IAsyncDisposable
{
    /// <summary>The node started as primary ("node0"). After a promotion it may no longer be the primary.</summary>
    IPostgresNode Primary { get; }

    /// <summary>The nodes started as replicas of <see cref="Primary"/>, in name order.</summary>
    IReadOnlyList<IPostgresNode> Replicas { get; }

    /// <summary><see cref="Primary"/> followed by <see cref="Replicas"/>.</summary>
    IReadOnlyList<IPostgresNode> Nodes { get; }

    /// <summary>Where archive_command copies completed WAL segments.</summary>
    string ArchiveDirectory { get; }

    string BinDirectory { get; }

    /// <summary>The directory holding every data directory, the archive and the Unix sockets.</summary>
    string RootDirectory { get; }

    /// <summary>
    /// Runs any tool of <see cref="BinDirectory"/> as the OS user the server runs as. A non-zero exit is a
    /// result (see <see cref="PgToolResult.EnsureSuccess"/>); passing <paramref name="timeout"/> (default 60 s)
    /// kills the tool and throws <see cref="TimeoutException"/>.
    /// </summary>
    Task<PgToolResult> RunPgToolAsync(
        string toolName, IEnumerable<string> arguments, TimeSpan? timeout = null, CancellationToken cancellationToken = default);

    /// <summary>Forces a WAL segment switch on <see cref="Primary"/>; returns the name of the segment it completed.</summary>
    Task<string> SwitchWalAsync(CancellationToken cancellationToken = default);

    /// <summary>Waits until every replica has replayed the primary's current WAL position.</summary>
    Task WaitForReplicaCatchUpAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default);

    /// <summary>Waits until <paramref name="segmentName"/> has been archived into <see cref="ArchiveDirectory"/>.</summary>
    Task WaitForArchivedAsync(string segmentName, TimeSpan? timeout = null, CancellationToken cancellationToken = default);
}
