using System.Globalization;
using Fleet.Agent.Archive.Wal;

namespace Fleet.Agent.Archive.Verification;

/// <summary>Archive lag, RPO exposure, archiver health and the archive's region (pure: facts in, findings out).</summary>
internal static class NodeChecks
{
    public sealed record Result(ulong LagSegments, ulong LagBytes, double? RpoExposureSeconds);

    public static void Region(ArchiveSettings settings, string location, FindingList findings)
    {
        if (settings.ArchiveRegion.Length == 0)
        {
            findings.Warning(FindingCodes.ArchiveRegionUnset, "Archive:Region",
                $"Archive:Region is not set, so Fleet cannot confirm that the archive {location} is inside the node's region '{settings.NodeRegion}'");
        }
        else if (!string.Equals(settings.ArchiveRegion, settings.NodeRegion, StringComparison.OrdinalIgnoreCase))
        {
            findings.Critical(FindingCodes.ArchiveOutOfRegion, "Archive:Region",
                $"the archive {location} lives in region '{settings.ArchiveRegion}', outside the node's region '{settings.NodeRegion}': WAL (the database's data) leaves its data-residency boundary");
        }
    }

    public static void Server(NodeView node, FindingList findings)
    {
        if (node.Source == "none")
        {
            findings.Info(FindingCodes.ServerUnknown, string.Empty,
                $"the server's view is unavailable ({node.Error ?? "no connection and no data directory"}): the archive was checked against itself (system identifier, version and timeline from the majority of its segments)");
        }
        else if (node.Source == "pg_controldata")
        {
            findings.Info(FindingCodes.ServerUnknown, string.Empty,
                $"PostgreSQL is not reachable ({node.Error}); system identifier, timeline and segment size come from pg_controldata; archiver health and lag are not checked");
        }
    }

    /// <summary>pg_stat_archiver: failing now (last failure newer than last success), or failures since the previous verification.</summary>
    public static void Archiver(NodeView node, ulong? previousFailedCount, FindingList findings)
    {
        if (node.ArchiveMode == "off" && node.Role == Protos.V1.NodeRole.Primary)
        {
            findings.Warning(FindingCodes.ArchivingDisabled, "archive_mode",
                "archive_mode is off on this primary although Archive:Location is configured: no WAL is archived");
            return;
        }

        if (!node.Archives || node.Archiver is not { } archiver)
        {
            return;
        }

        var failingNow = archiver.FailedCount > 0 &&
            archiver.LastFailedTime is { } failed && (archiver.LastArchivedTime is not { } archived || failed > archived);
        if (failingNow)
        {
            var since = archiver.LastArchivedTime is { } ok
                ? $"the last success was {archiver.LastArchivedWal} at {ok:u}"
                : "nothing was archived since the statistics reset";
            findings.Critical(FindingCodes.ArchiveCommandFailing, archiver.LastFailedWal ?? string.Empty, string.Create(CultureInfo.InvariantCulture,
                $"archive_command is failing: archiving {archiver.LastFailedWal} failed at {archiver.LastFailedTime:u} ({archiver.FailedCount} failures since the statistics reset); {since}. WAL piles up in pg_wal until it works again"));
        }
        else if (previousFailedCount is { } previous && archiver.FailedCount > previous)
        {
            findings.Warning(FindingCodes.ArchiveCommandFailing, archiver.LastFailedWal ?? string.Empty, string.Create(CultureInfo.InvariantCulture,
                $"archive_command failed {archiver.FailedCount - previous} time(s) since the previous verification (last for {archiver.LastFailedWal} at {archiver.LastFailedTime:u}); it has succeeded since ({archiver.LastArchivedWal} at {archiver.LastArchivedTime:u})"));
        }
    }

    /// <summary>Archive lag (segments completed but not archived, and WAL bytes past the last archived segment) and RPO exposure.</summary>
    public static Result Lag(NodeView node, ArchiveFile? last, ulong segmentSize, ArchiveSettings settings, DateTimeOffset now, FindingList findings)
    {
        if (last is null)
        {
            return new Result(0, 0, null);
        }

        ulong lagSegments = 0, lagBytes = 0;
        var archivedEnd = (last.SegmentNumber + 1) * segmentSize;
        if (node.CurrentLsn is { } current)
        {
            var currentSegment = current / segmentSize;
            lagSegments = currentSegment > last.SegmentNumber + 1 ? currentSegment - last.SegmentNumber - 1 : 0;
            lagBytes = current > archivedEnd ? current - archivedEnd : 0;
        }

        if (lagSegments > (ulong)settings.MaxLagSegments)
        {
            findings.Warning(FindingCodes.ArchiveLag, last.Entry.Name, string.Create(CultureInfo.InvariantCulture,
                $"{lagSegments} completed WAL segments are not archived yet ({lagBytes} bytes past {last.Entry.Name}, the newest archived; more than Archive:MaxLagSegments = {settings.MaxLagSegments})"),
                archivedEnd);
        }

        var exposure = now - last.Entry.LastModified;
        var seconds = Math.Max(0, exposure.TotalSeconds);
        var written = node.CurrentLsn is null || lagBytes > 0;
        if (exposure > settings.RpoThreshold && written)
        {
            findings.Warning(FindingCodes.RpoExposureHigh, last.Entry.Name, string.Create(CultureInfo.InvariantCulture,
                $"the newest archived segment, {last.Entry.Name}, was archived {BaseBackupAssessment.Describe(exposure)} ago (more than Archive:RpoThreshold = {BaseBackupAssessment.Describe(settings.RpoThreshold)}) while {(node.CurrentLsn is { } at ? $"WAL up to {Lsn.Format(at)}" : "WAL")} is not archived: losing the node now loses that WAL"),
                archivedEnd);
        }

        return new Result(lagSegments, lagBytes, seconds);
    }
}
