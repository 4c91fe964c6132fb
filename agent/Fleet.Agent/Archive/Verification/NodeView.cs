using Fleet.Protos.V1;

namespace Fleet.Agent.Archive.Verification;

/// <summary>pg_stat_archiver as the node reported it.</summary>
internal sealed record ArchiverStats(
    ulong ArchivedCount,
    string? LastArchivedWal,
    DateTimeOffset? LastArchivedTime,
    ulong FailedCount,
    string? LastFailedWal,
    DateTimeOffset? LastFailedTime);

/// <summary>
/// The node's own view, taken just before the archive is listed: which cluster, version, timeline and WAL
/// position the archive must match. Every value is optional: with Postgres down the verifier falls back to
/// pg_controldata, and without even that it checks the archive against itself.
/// </summary>
internal sealed record NodeView
{
    public static NodeView Unknown { get; } = new() { Source = "none" };

    /// <summary>Where the view came from: "sql", "pg_controldata" or "none".</summary>
    public string Source { get; init; } = "none";

    /// <summary>Why the server could not be asked, when it could not.</summary>
    public string? Error { get; init; }

    public int? ServerVersionNum { get; init; }

    /// <summary>Major version, e.g. 15.</summary>
    public int? MajorVersion { get; init; }

    public ulong? SystemIdentifier { get; init; }

    /// <summary>Current timeline (a replica's: the one it replays or receives).</summary>
    public uint? Timeline { get; init; }

    public ulong? SegmentSize { get; init; }

    public int? BlockSize { get; init; }

    public NodeRole Role { get; init; } = NodeRole.Unknown;

    /// <summary>Current WAL position: a primary's write position, a replica's receive (or replay) position.</summary>
    public ulong? CurrentLsn { get; init; }

    /// <summary>archive_mode: "off", "on" or "always".</summary>
    public string? ArchiveMode { get; init; }

    public ArchiverStats? Archiver { get; init; }

    /// <summary>The node itself archives: archive_mode=always, or on on a primary.</summary>
    public bool Archives => ArchiveMode == "always" || (ArchiveMode == "on" && Role == NodeRole.Primary);
}
