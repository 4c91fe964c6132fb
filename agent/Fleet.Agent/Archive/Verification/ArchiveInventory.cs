using Fleet.Agent.Archive.Storage;
using Fleet.Agent.Archive.Wal;

namespace Fleet.Agent.Archive.Verification;

/// <summary>One WAL file of the archive with its parsed name and, for segment-based names, its segment number.</summary>
internal sealed record ArchiveFile(ArchiveEntry Entry, WalFileName Name, ulong SegmentNumber)
{
    public uint Timeline => Name.Timeline;

    public bool Compressed => Name.Compression != WalCompression.None;
}

/// <summary>The archive's files sorted by kind (pure: a listing in, a classification out).</summary>
internal sealed class ArchiveInventory
{
    private readonly Dictionary<(uint Timeline, ulong Segment), ArchiveFile> _segments = [];

    public List<ArchiveFile> Segments { get; } = [];

    public List<ArchiveFile> Partials { get; } = [];

    public Dictionary<uint, ArchiveEntry> Histories { get; } = [];

    public List<ArchiveFile> BackupHistories { get; } = [];

    /// <summary>Files that are not WAL at all (kept, but reported once).</summary>
    public List<string> Unexpected { get; } = [];

    /// <summary>Names shaped like WAL whose segment part does not fit wal_segment_size.</summary>
    public List<string> OutOfRange { get; } = [];

    /// <summary>A segment stored twice (e.g. plain and .gz): the kept copy and the ignored one.</summary>
    public List<(ArchiveFile Kept, ArchiveEntry Ignored)> Duplicates { get; } = [];

    public long TotalBytes { get; private set; }

    public ArchiveFile? Find(uint timeline, ulong segment) => _segments.GetValueOrDefault((timeline, segment));

    public static ArchiveInventory Build(IEnumerable<ArchiveEntry> entries, ulong segmentSize)
    {
        var inventory = new ArchiveInventory();
        foreach (var entry in entries.OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            inventory.TotalBytes += entry.Size;
            if (!WalFileName.TryParse(entry.Name, out var name))
            {
                inventory.Unexpected.Add(entry.Name);
                continue;
            }

            if (name.Kind == WalFileKind.History)
            {
                if (!inventory.Histories.TryAdd(name.Timeline, entry) && name.Compression == WalCompression.None)
                {
                    inventory.Histories[name.Timeline] = entry;
                }

                continue;
            }

            if (name.SegmentNumber(segmentSize) is not { } segment)
            {
                inventory.OutOfRange.Add(entry.Name);
                continue;
            }

            var file = new ArchiveFile(entry, name, segment);
            switch (name.Kind)
            {
                case WalFileKind.Segment:
                    inventory.AddSegment(file);
                    break;
                case WalFileKind.Partial:
                    inventory.Partials.Add(file);
                    break;
                default:
                    inventory.BackupHistories.Add(file);
                    break;
            }
        }

        inventory.Segments.Sort((a, b) => a.SegmentNumber != b.SegmentNumber
            ? a.SegmentNumber.CompareTo(b.SegmentNumber)
            : a.Timeline.CompareTo(b.Timeline));
        return inventory;
    }

    private void AddSegment(ArchiveFile file)
    {
        var key = (file.Timeline, file.SegmentNumber);
        if (_segments.TryGetValue(key, out var existing))
        {
            // Prefer the copy PostgreSQL's own restore_command would most likely use: uncompressed, then gzip.
            var keepNew = Rank(file.Name.Compression) < Rank(existing.Name.Compression);
            var kept = keepNew ? file : existing;
            var ignored = keepNew ? existing : file;
            Duplicates.Add((kept, ignored.Entry));
            if (keepNew)
            {
                Segments.Remove(existing);
                Segments.Add(file);
                _segments[key] = file;
            }

            return;
        }

        _segments[key] = file;
        Segments.Add(file);
    }

    private static int Rank(WalCompression compression) => compression switch
    {
        WalCompression.None => 0,
        WalCompression.Gzip => 1,
        _ => 2,
    };
}
