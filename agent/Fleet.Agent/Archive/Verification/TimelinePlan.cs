using Fleet.Agent.Archive.Wal;

namespace Fleet.Agent.Archive.Verification;

/// <summary>Where a segment file stands relative to the recovery path.</summary>
internal enum SegmentPlacement
{
    /// <summary>Recovery along the server's timeline history restores this file.</summary>
    OnPath,

    /// <summary>On the path, but older than the start of continuity (the oldest retained base backup).</summary>
    BeforeStart,

    /// <summary>Never restored along the path: another timeline's copy, or WAL of a timeline after it ended.</summary>
    OffPath,
}

/// <summary>
/// The recovery path through the archive: the target timeline's history and the range of segments that
/// must all be present, from the start of the oldest retained base backup (or a configured start) to
/// the newest segment archived on the path. Built by <see cref="TimelinePlanner"/>.
/// </summary>
internal sealed class TimelinePlan
{
    public required uint Target { get; init; }

    /// <summary>The target timeline's effective history (parsed, or inferred when its history file is missing).</summary>
    public required TimelineHistory Path { get; init; }

    /// <summary>Effective history of every timeline seen, for checking each file against its own timeline.</summary>
    public required IReadOnlyDictionary<uint, TimelineHistory> Histories { get; init; }

    /// <summary>Timelines whose history was inferred from the segments present (file missing or invalid).</summary>
    public required IReadOnlySet<uint> Inferred { get; init; }

    public required ulong SegmentSize { get; init; }

    /// <summary>First segment that must be present; null when the archive has no segment on the path.</summary>
    public ulong? StartSegment { get; init; }

    /// <summary>Newest segment present on the path.</summary>
    public ArchiveFile? Last { get; init; }

    public SegmentPlacement PlacementOf(ArchiveFile file)
    {
        if (Path.TimelineForSegment(file.SegmentNumber, SegmentSize) != file.Timeline || Path.Find(file.Timeline) is null)
        {
            return SegmentPlacement.OffPath;
        }

        return StartSegment is { } start && file.SegmentNumber < start ? SegmentPlacement.BeforeStart : SegmentPlacement.OnPath;
    }

    /// <summary>The history a file of <paramref name="timeline"/> is checked against.</summary>
    public TimelineHistory HistoryOf(uint timeline) => Histories.TryGetValue(timeline, out var history) ? history : TimelineHistory.Root(timeline);

    /// <summary>The segment file that recovery reads after <paramref name="file"/> (for records spanning segments).</summary>
    public ArchiveFile? Next(ArchiveFile file, ArchiveInventory inventory)
    {
        var next = file.SegmentNumber + 1;
        var history = PlacementOf(file) == SegmentPlacement.OffPath ? HistoryOf(file.Timeline) : Path;
        return inventory.Find(history.TimelineForSegment(next, SegmentSize), next) ?? inventory.Find(file.Timeline, next);
    }
}
