using System.Globalization;
using Fleet.Agent.Archive.Wal;

namespace Fleet.Agent.Archive.Verification;

/// <summary>
/// Works out the recovery path and checks continuity and timeline consistency (pure). PostgreSQL restores,
/// for each segment number, the file of the newest timeline in the target's history that began at or before
/// that segment (XLogFileReadAnyTLI); so a segment on a new timeline following the switch point is not a gap,
/// nor is the absence of the old timeline's copy — not even after a timeline that was skipped entirely.
/// </summary>
internal static class TimelinePlanner
{
    public static TimelinePlan Plan(
        ArchiveInventory inventory,
        IReadOnlyDictionary<uint, TimelineHistory> parsed,
        IReadOnlySet<uint> invalid,
        ulong segmentSize,
        uint? serverTimeline,
        ulong? startLsn,
        string startDescription,
        AcknowledgedSegments acknowledged,
        FindingList findings)
    {
        var timelines = new SortedSet<uint>();
        foreach (var file in inventory.Segments.Concat(inventory.Partials))
        {
            timelines.Add(file.Timeline);
        }

        timelines.UnionWith(parsed.Keys);
        timelines.UnionWith(invalid);
        if (serverTimeline is { } server)
        {
            timelines.Add(server);
        }

        var target = serverTimeline ?? (timelines.Count > 0 ? timelines.Max : 1);
        var effective = new Dictionary<uint, TimelineHistory>();
        var inferred = new HashSet<uint>();
        foreach (var timeline in timelines)
        {
            if (parsed.TryGetValue(timeline, out var history))
            {
                CheckAgainstParent(history, effective, inferred, findings);
                effective[timeline] = history;
            }
            else if (timeline <= 1)
            {
                effective[timeline] = TimelineHistory.Root(timeline);
            }
            else
            {
                effective[timeline] = Infer(timeline, inventory, effective, segmentSize);
                inferred.Add(timeline);
            }
        }

        var path = effective.TryGetValue(target, out var targetHistory) ? targetHistory : TimelineHistory.Root(target);
        var onPath = inventory.Segments.Where(f => path.Find(f.Timeline) is not null && path.TimelineForSegment(f.SegmentNumber, segmentSize) == f.Timeline).ToList();
        ulong? start = startLsn is { } lsn ? lsn / segmentSize : onPath.Count > 0 ? onPath[0].SegmentNumber : null;
        var last = onPath.Count > 0 ? onPath[^1] : null;
        var plan = new TimelinePlan
        {
            Target = target,
            Path = path,
            Histories = effective,
            Inferred = inferred,
            SegmentSize = segmentSize,
            StartSegment = start,
            Last = last,
        };

        ReportMissingHistories(plan, invalid, start, findings);
        ReportGaps(plan, inventory, start, last, startDescription, acknowledged, findings);
        ReportOffPath(plan, inventory, findings);
        ReportNewerTimelines(plan, timelines, findings);
        return plan;
    }

    /// <summary>A child's history must repeat its parent's history and add one switch point.</summary>
    private static void CheckAgainstParent(TimelineHistory history, Dictionary<uint, TimelineHistory> effective, HashSet<uint> inferred, FindingList findings)
    {
        var parent = history.Spans[^2].Timeline;
        if (!effective.TryGetValue(parent, out var parentHistory) || inferred.Contains(parent) || parentHistory.IsPrefixOf(history))
        {
            return;
        }

        findings.Critical(FindingCodes.HistoryInvalid, WalFileName.FormatHistory(history.Timeline),
            $"{WalFileName.FormatHistory(history.Timeline)} ({history.Describe()}) contradicts {WalFileName.FormatHistory(parent)} ({parentHistory.Describe()}): " +
            "the parent's ancestry must be repeated unchanged",
            history.Begin);
    }

    /// <summary>
    /// Without a history file, the timeline is assumed to branch from the newest older timeline within its
    /// first segment present; the switch point is unknown inside that segment, so both timelines are allowed there.
    /// </summary>
    private static TimelineHistory Infer(uint timeline, ArchiveInventory inventory, Dictionary<uint, TimelineHistory> effective, ulong segmentSize)
    {
        var parent = effective.Keys.Where(t => t < timeline).DefaultIfEmpty(0u).Max();
        if (parent == 0)
        {
            return TimelineHistory.Root(timeline);
        }

        var parentHistory = effective[parent];
        var own = inventory.Segments.Concat(inventory.Partials).Where(f => f.Timeline == timeline).Select(f => f.SegmentNumber).DefaultIfEmpty(ulong.MaxValue).Min();
        if (own == ulong.MaxValue)
        {
            var parentSegments = inventory.Segments.Where(f => f.Timeline == parent).Select(f => f.SegmentNumber).ToList();
            own = parentSegments.Count > 0 ? parentSegments.Max() + 1 : parentHistory.Begin / segmentSize;
        }

        var begin = Math.Max(own * segmentSize, parentHistory.Begin);
        var spans = parentHistory.Spans.Take(parentHistory.Spans.Count - 1).ToList();
        spans.Add(new TimelineSpan(parent, parentHistory.Begin, begin + segmentSize));
        spans.Add(new TimelineSpan(timeline, begin, TimelineSpan.Open));
        return TimelineHistory.FromSpans(spans);
    }

    private static void ReportMissingHistories(TimelinePlan plan, IReadOnlySet<uint> invalid, ulong? start, FindingList findings)
    {
        foreach (var timeline in plan.Inferred)
        {
            if (invalid.Contains(timeline))
            {
                continue;
            }

            var name = WalFileName.FormatHistory(timeline);
            var history = plan.HistoryOf(timeline);
            var onPath = plan.Path.Find(timeline) is not null;
            var crossed = onPath && start is { } s && plan.Path.TimelineForSegment(s, plan.SegmentSize) < timeline;
            var reason = timeline == plan.Target ? $"the server is on timeline {timeline}" : "the archive holds its WAL";
            if (crossed)
            {
                findings.Critical(FindingCodes.HistoryMissing, name,
                    $"{name} is missing although {reason}: recovery from the oldest base backup cannot follow the switch to timeline {timeline} " +
                    $"(recovery_target_timeline = 'latest' stops at the end of timeline {history.Spans[^2].Timeline})",
                    history.Begin);
            }
            else
            {
                findings.Warning(FindingCodes.HistoryMissing, name,
                    $"{name} is missing although {reason}; recovery needs it to follow timeline {timeline} from an older one",
                    history.Begin);
            }
        }
    }

    private static void ReportGaps(
        TimelinePlan plan, ArchiveInventory inventory, ulong? start, ArchiveFile? last, string startDescription, AcknowledgedSegments acknowledged, FindingList findings)
    {
        if (start is not { } first || last is null || last.SegmentNumber < first)
        {
            return;
        }

        var size = plan.SegmentSize;
        var runStart = (ulong?)null;
        for (var segment = first; segment <= last.SegmentNumber + 1; segment++)
        {
            var present = segment > last.SegmentNumber || inventory.Find(plan.Path.TimelineForSegment(segment, size), segment) is not null;
            if (!present)
            {
                runStart ??= segment;
                continue;
            }

            if (runStart is { } run)
            {
                ReportRun(plan, inventory, run, segment - 1, startDescription, acknowledged, findings);
                runStart = null;
            }
        }
    }

    private static void ReportRun(
        TimelinePlan plan, ArchiveInventory inventory, ulong from, ulong to, string startDescription, AcknowledgedSegments acknowledged, FindingList findings)
    {
        var size = plan.SegmentSize;
        var firstName = WalFileName.FormatSegment(plan.Path.TimelineForSegment(from, size), from, size);
        var lastName = WalFileName.FormatSegment(plan.Path.TimelineForSegment(to, size), to, size);
        var count = to - from + 1;
        var what = count == 1
            ? $"WAL segment {firstName} is missing"
            : string.Create(CultureInfo.InvariantCulture, $"{count} WAL segments are missing, {firstName} to {lastName}");
        var other = inventory.Segments.Concat(inventory.Partials).FirstOrDefault(f => f.SegmentNumber >= from && f.SegmentNumber <= to);
        var hint = other is null ? string.Empty : $" ({other.Entry.Name} exists, but recovery along timeline {plan.Target} does not read it)";
        var consequence = $": recovery from {startDescription} cannot replay past {Lsn.Format((from * size) - 1)}";
        if (acknowledged.Covers(firstName) && acknowledged.Covers(lastName))
        {
            findings.Info(FindingCodes.SegmentMissing, firstName, what + hint + " (acknowledged in Archive:AcknowledgedMissing)", from * size);
            return;
        }

        findings.Critical(FindingCodes.SegmentMissing, firstName, what + hint + consequence, from * size);
    }

    private static void ReportOffPath(TimelinePlan plan, ArchiveInventory inventory, FindingList findings)
    {
        foreach (var group in inventory.Segments.Where(f => plan.PlacementOf(f) == SegmentPlacement.OffPath).GroupBy(f => f.Timeline))
        {
            var files = group.ToList();
            var span = plan.Path.Find(group.Key);
            var own = plan.HistoryOf(group.Key);
            var beforeBegin = files.Where(f => (f.SegmentNumber + 1) * plan.SegmentSize <= own.Begin).ToList();
            foreach (var file in beforeBegin)
            {
                findings.Warning(FindingCodes.TimelineMismatch, file.Entry.Name,
                    $"{file.Entry.Name} is on timeline {group.Key}, but timeline {group.Key} began only at {Lsn.Format(own.Begin)}: PostgreSQL never reads this file",
                    file.SegmentNumber * plan.SegmentSize);
            }

            var rest = files.Except(beforeBegin).ToList();
            if (rest.Count == 0)
            {
                continue;
            }

            var message = span is { } ended && ended.End != TimelineSpan.Open
                ? $"timeline {group.Key} continued after timeline {plan.Path.TimelineAt(ended.End)} branched off at {Lsn.Format(ended.End)}: " +
                  $"{Count(rest.Count)} ({rest[0].Entry.Name}{(rest.Count > 1 ? " …" : string.Empty)}) written after the switch (two primaries at once, or a former primary not rewound); recovery along timeline {plan.Target} ignores them"
                : $"timeline {group.Key} is not in the history of timeline {plan.Target} ({plan.Path.Describe()}): {Count(rest.Count)} ({rest[0].Entry.Name}{(rest.Count > 1 ? " …" : string.Empty)}) belong to another branch";
            findings.Warning(FindingCodes.TimelineDiverged, rest[0].Entry.Name, message, rest[0].SegmentNumber * plan.SegmentSize);
        }
    }

    private static void ReportNewerTimelines(TimelinePlan plan, SortedSet<uint> timelines, FindingList findings)
    {
        foreach (var timeline in timelines.Where(t => t > plan.Target))
        {
            var history = plan.HistoryOf(timeline);
            var from = history.Find(plan.Target);
            var message = from is { } branch
                ? $"the archive holds timeline {timeline}, which branched from this server's timeline {plan.Target} at {Lsn.Format(branch.End)}: another node was promoted; this server must follow it (pg_rewind) or stop archiving"
                : $"the archive holds timeline {timeline}, which is newer than this server's timeline {plan.Target} and not its descendant";
            findings.Warning(FindingCodes.TimelineDiverged, WalFileName.FormatHistory(timeline), message, from?.End ?? history.Begin);
        }
    }

    private static string Count(int n) => n == 1 ? "1 segment" : string.Create(CultureInfo.InvariantCulture, $"{n} segments");
}
