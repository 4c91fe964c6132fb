using System.Diagnostics;
using System.Text;
using Fleet.Agent.Archive.Storage;
using Fleet.Agent.Archive.Wal;
using Fleet.Protos.V1;
using Google.Protobuf.WellKnownTypes;

namespace Fleet.Agent.Archive.Verification;

/// <summary>
/// One verification of a WAL archive against the node's view: lists the archive, reads what changed since
/// the last run (every file, in deep mode every record), and turns it into an <see cref="ArchiveStatus"/>.
/// The decisions live in pure helpers (<see cref="TimelinePlanner"/>, <see cref="SegmentScanner"/>,
/// <see cref="NodeChecks"/>, <see cref="BaseBackupAssessment"/>); this class does the reading.
/// </summary>
internal sealed partial class ArchiveVerifier
{
    public const int ChunkSize = 1024 * 1024;
    public const int DeepChunkSize = 256 * 1024;
    private const int MaxTextFile = 1024 * 1024;
    private static readonly ulong DefaultSegmentSize = 16 * 1024 * 1024;

    private readonly IArchiveReader _reader;
    private readonly SegmentCache _cache;
    private readonly TimeProvider _time;
    private readonly int _parallelism;

    public ArchiveVerifier(IArchiveReader reader, SegmentCache cache, TimeProvider time, int parallelism)
    {
        _reader = reader;
        _cache = cache;
        _time = time;
        _parallelism = Math.Max(1, parallelism);
    }

    public string Location => _reader.Location;

    public async Task<VerificationOutcome> VerifyAsync(
        NodeView node,
        ArchiveSettings settings,
        bool deep,
        ulong? previousFailedCount,
        IBaseBackupSource? baseBackups,
        Action<VerificationProgress>? progress,
        CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var findings = new FindingList();
        var run = new RunCounters();
        NodeChecks.Region(settings, _reader.Location, findings);
        NodeChecks.Server(node, findings);
        NodeChecks.Archiver(node, previousFailedCount, findings);

        IReadOnlyList<ArchiveEntry> listing;
        try
        {
            listing = await _reader.ListAsync(cancellationToken);
        }
        catch (ArchiveUnavailableException e)
        {
            findings.Critical(FindingCodes.ArchiveUnreachable, _reader.Location, e.Message);
            return Finish(new ArchiveStatus(), findings, settings, deep, started, run, 0);
        }

        var segmentSize = node.SegmentSize ?? await InferSegmentSizeAsync(listing, cancellationToken) ?? DefaultSegmentSize;
        var inventory = ArchiveInventory.Build(listing, segmentSize);
        ReportInventory(inventory, segmentSize, node, findings);

        var (histories, invalid) = await ReadHistoriesAsync(inventory, run, findings, cancellationToken);
        var labels = await ReadBackupLabelsAsync(inventory, run, findings, cancellationToken);
        var directoryBackups = baseBackups is null ? null : await baseBackups.ScanAsync(cancellationToken);
        var now = _time.GetUtcNow();
        var backups = BaseBackupAssessment.Assess(labels, directoryBackups, segmentSize, settings, now, findings);
        var plan = TimelinePlanner.Plan(
            inventory, histories, invalid, segmentSize, node.Timeline, backups.ContinuityStart, backups.StartDescription, settings.Acknowledged, findings);

        var results = await ScanSegmentsAsync(inventory, plan, node, deep, run, progress, cancellationToken);
        ReportSegments(inventory, plan, node, results, _time.GetUtcNow(), findings);

        var lag = NodeChecks.Lag(node, plan.Last, segmentSize, settings, _time.GetUtcNow(), findings);
        var status = new ArchiveStatus
        {
            LastArchivedSegment = plan.Last?.Entry.Name ?? string.Empty,
            ArchiveLagSegments = lag.LagSegments,
            ArchiveLagBytes = lag.LagBytes,
            SegmentsVerified = (ulong)results.Count,
        };
        if (lag.RpoExposureSeconds is { } rpo)
        {
            status.RpoExposureSeconds = rpo;
        }

        if (backups.Newest is { } newest)
        {
            status.NewestBaseBackup = newest;
            status.NewestBaseBackupAgeSeconds = backups.NewestAgeSeconds ?? 0;
        }

        if (backups.Oldest is { } oldest)
        {
            status.OldestBaseBackup = oldest;
        }

        _cache.Retain(listing);
        return Finish(status, findings, settings, deep, started, run, results.Count(r => r.Value.FromCache));
    }

    private VerificationOutcome Finish(ArchiveStatus status, FindingList findings, ArchiveSettings settings, bool deep, long started, RunCounters run, int fromCache)
    {
        var ordered = findings.Ordered();
        status.Findings.AddRange(ordered);
        status.Verdict = FindingList.Verdict(ordered);
        if (FindingList.FirstProblem(ordered, status.Verdict) is { } first)
        {
            status.FirstProblem = first;
        }

        status.Deep = deep;
        status.VerifiedAt = Timestamp.FromDateTimeOffset(_time.GetUtcNow());
        status.DurationSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        status.ArchiveRegion = settings.ArchiveRegion;
        status.ArchiveLocation = _reader.Location;
        return new VerificationOutcome(status, run.Files, run.Bytes, fromCache);
    }

    private static void ReportInventory(ArchiveInventory inventory, ulong segmentSize, NodeView node, FindingList findings)
    {
        if (inventory.Segments.Count == 0 && inventory.Partials.Count == 0)
        {
            findings.Warning(FindingCodes.ArchiveEmpty, string.Empty, node.Archives || node.Source == "none"
                ? "the archive holds no WAL segment yet"
                : "the archive holds no WAL segment (this node does not archive itself; its primary should)");
        }

        if (inventory.Unexpected.Count > 0)
        {
            findings.Info(FindingCodes.UnexpectedFile, inventory.Unexpected[0],
                $"{inventory.Unexpected.Count} file(s) that are not WAL: {Sample(inventory.Unexpected)}");
        }

        foreach (var name in inventory.OutOfRange)
        {
            findings.Warning(FindingCodes.UnexpectedFile, name,
                $"{name} is shaped like a WAL file, but its segment number does not exist with {segmentSize / (1024 * 1024)} MiB segments (written by a cluster with another wal_segment_size?)");
        }

        foreach (var (kept, ignored) in inventory.Duplicates)
        {
            findings.Info(FindingCodes.SegmentDuplicate, kept.Name.SegmentName,
                $"{kept.Name.SegmentName} is archived twice ({kept.Entry.Name} and {ignored.Name}); {kept.Entry.Name} was verified",
                kept.SegmentNumber * segmentSize);
        }

        var unsupported = inventory.Segments.Where(f => f.Name.Compression == WalCompression.Unsupported).ToList();
        if (unsupported.Count > 0)
        {
            findings.Info(FindingCodes.SegmentUnverifiable, unsupported[0].Entry.Name,
                $"{unsupported.Count} segment(s) use a compression Fleet does not decode ({Sample(unsupported.Select(f => f.Entry.Name).ToList())}): they count for continuity, their content is not checked");
        }
    }

    private async Task<ulong?> InferSegmentSizeAsync(IReadOnlyList<ArchiveEntry> listing, CancellationToken cancellationToken)
    {
        var newest = listing
            .Where(e => WalFileName.TryParse(e.Name, out var n) && n.Kind == WalFileKind.Segment && n.Compression != WalCompression.Unsupported)
            .OrderByDescending(e => e.Name, StringComparer.Ordinal)
            .FirstOrDefault();
        if (newest is null)
        {
            return null;
        }

        try
        {
            await using var stream = await _reader.OpenReadAsync(newest, cancellationToken);
            var buffer = new byte[WalFormat.LongHeaderSize];
            if (await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken) < buffer.Length)
            {
                return null;
            }

            var header = WalPageHeader.Read(buffer);
            return header.IsLong && WalFormat.IsValidSegmentSize(header.SegmentSize) ? header.SegmentSize : null;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private async Task<(Dictionary<uint, TimelineHistory> Parsed, HashSet<uint> Invalid)> ReadHistoriesAsync(
        ArchiveInventory inventory, RunCounters run, FindingList findings, CancellationToken cancellationToken)
    {
        var parsed = new Dictionary<uint, TimelineHistory>();
        var invalid = new HashSet<uint>();
        foreach (var (timeline, entry) in inventory.Histories.OrderBy(h => h.Key))
        {
            var text = await ReadTextAsync(entry, run, cancellationToken);
            if (text is null)
            {
                findings.Critical(FindingCodes.HistoryInvalid, entry.Name, $"{entry.Name} cannot be read");
                invalid.Add(timeline);
            }
            else if (TimelineHistory.TryParse(timeline, text, out var history, out var error))
            {
                parsed[timeline] = history!;
            }
            else
            {
                findings.Critical(FindingCodes.HistoryInvalid, entry.Name, $"{entry.Name} is invalid: {error}");
                invalid.Add(timeline);
            }
        }

        return (parsed, invalid);
    }

    private async Task<List<ArchivedBackupLabel>> ReadBackupLabelsAsync(
        ArchiveInventory inventory, RunCounters run, FindingList findings, CancellationToken cancellationToken)
    {
        var labels = new List<ArchivedBackupLabel>();
        foreach (var file in inventory.BackupHistories)
        {
            var text = await ReadTextAsync(file.Entry, run, cancellationToken);
            if (text is not null && BackupLabel.TryParse(text, out var label, out _))
            {
                labels.Add(new ArchivedBackupLabel(file, label!));
            }
            else
            {
                findings.Warning(FindingCodes.UnexpectedFile, file.Entry.Name, $"the backup history file {file.Entry.Name} cannot be read or parsed");
            }
        }

        return labels;
    }

    private async Task<string?> ReadTextAsync(ArchiveEntry entry, RunCounters run, CancellationToken cancellationToken)
    {
        if (_cache.TryGetText(entry, out var cached))
        {
            return cached;
        }

        try
        {
            await using var stream = await _reader.OpenReadAsync(entry, cancellationToken);
            var buffer = new byte[MaxTextFile];
            var length = await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
            run.Add(length);
            var text = Encoding.UTF8.GetString(buffer, 0, length);
            _cache.PutText(entry, text);
            return text;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string Sample(List<string> names) =>
        names.Count <= 3 ? string.Join(", ", names) : string.Join(", ", names.Take(3)) + ", …";

    /// <summary>Files and bytes read in one run (thread-safe).</summary>
    private sealed class RunCounters
    {
        private int _files;
        private long _bytes;

        public int Files => Volatile.Read(ref _files);

        public long Bytes => Interlocked.Read(ref _bytes);

        public void Add(long bytes)
        {
            Interlocked.Increment(ref _files);
            Interlocked.Add(ref _bytes, bytes);
        }

        public void AddBytes(long bytes) => Interlocked.Add(ref _bytes, bytes);

        public void AddFile() => Interlocked.Increment(ref _files);
    }
}
