using System.Globalization;
using Fleet.Agent.Archive.Wal;
using Fleet.Protos.V1;
using Google.Protobuf.WellKnownTypes;

namespace Fleet.Agent.Archive.Verification;

/// <summary>Newest and oldest retained base backup, the newest one's age, and where continuity starts (pure).</summary>
internal static class BaseBackupAssessment
{
    public sealed record Result(BaseBackup? Newest, BaseBackup? Oldest, double? NewestAgeSeconds, ulong? ContinuityStart, string StartDescription);

    private sealed record Candidate(string Name, ulong StartLsn, uint Timeline, DateTimeOffset FinishedAt);

    public static Result Assess(
        IReadOnlyList<ArchivedBackupLabel> archived,
        IReadOnlyList<BaseBackupRecord>? directory,
        ulong segmentSize,
        ArchiveSettings settings,
        DateTimeOffset now,
        FindingList findings)
    {
        var candidates = new List<Candidate>();
        if (directory is not null)
        {
            foreach (var backup in directory)
            {
                ReportCheck(backup, findings);
                if (backup.StartLsn is not { } backupStart)
                {
                    continue;
                }

                var label = archived.FirstOrDefault(a => a.Label.StartLsn == backupStart);
                var finished = label?.Label.StopTime ?? backup.FinishedAt;
                candidates.Add(new Candidate(backup.Name, backupStart, backup.Timeline != 0 ? backup.Timeline : label?.Label.StartTimeline ?? 0, finished));
            }
        }
        else
        {
            foreach (var a in archived)
            {
                candidates.Add(new Candidate(a.File.Name.BaseName, a.Label.StartLsn, a.Label.StartTimeline, a.Label.StopTime ?? a.File.Entry.LastModified));
            }
        }

        ulong? start = null;
        var startDescription = "the oldest archived segment";
        if (settings.VerifyFrom is { Length: > 0 } from && TryParseStart(from, segmentSize, out var configured))
        {
            start = configured;
            startDescription = $"Archive:VerifyFrom ({Lsn.Format(configured)})";
        }

        if (candidates.Count == 0)
        {
            var where = directory is null
                ? "no .backup history file in the archive"
                : "no base backup in Archive:BaseBackupDirectory";
            findings.Warning(FindingCodes.BaseBackupMissing, string.Empty,
                $"no base backup found ({where}): there is nothing to restore from, and continuity is checked from {startDescription}");
            return new Result(null, null, null, start, startDescription);
        }

        var newest = candidates.MaxBy(c => c.FinishedAt)!;
        var oldest = candidates.MinBy(c => c.StartLsn)!;
        if (start is null)
        {
            start = oldest.StartLsn;
            startDescription = $"the oldest base backup ({oldest.Name}, from {Lsn.Format(oldest.StartLsn)})";
        }

        var age = now - newest.FinishedAt;
        if (settings.MaxBaseBackupAge > TimeSpan.Zero && age > settings.MaxBaseBackupAge)
        {
            findings.Warning(FindingCodes.BaseBackupStale, newest.Name, string.Create(CultureInfo.InvariantCulture,
                $"the newest base backup, {newest.Name}, finished {Describe(age)} ago (at {newest.FinishedAt:u}), more than Archive:MaxBaseBackupAge ({Describe(settings.MaxBaseBackupAge)}): recovery must replay all WAL since then"));
        }

        return new Result(ToProto(newest, segmentSize), ToProto(oldest, segmentSize), Math.Max(0, age.TotalSeconds), start, startDescription);
    }

    /// <summary>Archive:VerifyFrom: an LSN ("0/5000028") or a segment file name.</summary>
    public static bool TryParseStart(string text, ulong segmentSize, out ulong lsn)
    {
        if (Lsn.TryParse(text, out lsn))
        {
            return true;
        }

        if (WalFileName.TryParse(text.Trim(), out var name) && name.Kind == WalFileKind.Segment && name.SegmentNumber(segmentSize) is { } segment)
        {
            lsn = segment * segmentSize;
            return true;
        }

        return false;
    }

    private static void ReportCheck(BaseBackupRecord backup, FindingList findings)
    {
        if (backup.Check is { Succeeded: false } failed)
        {
            findings.Critical(FindingCodes.BaseBackupInvalid, backup.Name, $"pg_verifybackup rejects base backup {backup.Name}: {failed.Message}");
        }
        else if (backup.Check is null && backup.Unverified is { } why)
        {
            findings.Info(FindingCodes.BaseBackupUnverified, backup.Name, $"base backup {backup.Name} was not checked with pg_verifybackup: {why}");
        }
        else if (backup.StartLsn is null)
        {
            findings.Warning(FindingCodes.BaseBackupUnverified, backup.Name, $"cannot tell where base backup {backup.Name} starts (no backup_label, no WAL-Ranges in backup_manifest)");
        }
    }

    private static BaseBackup ToProto(Candidate c, ulong segmentSize) => new()
    {
        Name = c.Name,
        Timeline = c.Timeline,
        StartLsn = c.StartLsn,
        StartSegment = WalFileName.FormatSegment(Math.Max(1, c.Timeline), c.StartLsn / segmentSize, segmentSize),
        FinishedAt = Timestamp.FromDateTimeOffset(c.FinishedAt),
    };

    internal static string Describe(TimeSpan span) => span.TotalDays >= 2
        ? string.Create(CultureInfo.InvariantCulture, $"{span.TotalDays:0.#} days")
        : span.TotalHours >= 2
            ? string.Create(CultureInfo.InvariantCulture, $"{span.TotalHours:0.#} h")
            : span.TotalMinutes >= 2
                ? string.Create(CultureInfo.InvariantCulture, $"{span.TotalMinutes:0.#} min")
                : string.Create(CultureInfo.InvariantCulture, $"{span.TotalSeconds:0} s");
}
