using Fleet.Agent.Archive.Storage;
using Fleet.Agent.Archive.Verification;
using Fleet.Agent.Archive.Wal;
using Fleet.Protos.V1;

namespace Fleet.Agent.Tests.Archive;

/// <summary>Continuity and timeline consistency from listings alone (pure, table-driven).</summary>
public sealed class TimelinePlannerTests
{
    private const ulong Size = 16 * 1024 * 1024;

    [Fact]
    public void Plan_Contiguous_NoFindings()
    {
        var findings = Plan(Segments(1, 1, 6), [], serverTimeline: 1, start: 0x2000028);

        Assert.Empty(findings);
    }

    [Fact]
    public void Plan_OneMissing_OneCriticalNamingIt()
    {
        var findings = Plan(Segments(1, 1, 3).Concat(Segments(1, 5, 6)), [], 1, 0x2000028);

        var finding = Assert.Single(findings);
        Assert.Equal((Severity.Critical, FindingCodes.SegmentMissing, "000000010000000000000004"), (finding.Severity, finding.Code, finding.Subject));
    }

    [Fact]
    public void Plan_RunOfMissing_OneFindingForTheRun()
    {
        var findings = Plan(Segments(1, 1, 2).Concat(Segments(1, 6, 6)), [], 1, null);

        var finding = Assert.Single(findings);
        Assert.Contains("3 WAL segments are missing, 000000010000000000000003 to 000000010000000000000005", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_MissingBeforeStart_NotAGap()
    {
        var findings = Plan(Segments(1, 1, 1).Concat(Segments(1, 3, 6)), [], 1, 3 * Size);

        Assert.Empty(findings);
    }

    [Fact]
    public void Plan_TimelineSwitch_NewTimelineSegmentFollowsSwitchPoint_NoGap()
    {
        var names = Segments(1, 1, 6).Append("000000010000000000000007.partial").Concat(Segments(2, 7, 9));

        var findings = Plan(names, [(2, "1\t0/7000100\tpromoted\n")], 2, 0x2000028);

        Assert.Empty(findings);
    }

    [Fact]
    public void Plan_SkippedTimeline_NoFalseMissing()
    {
        // Timeline 2 lived for 256 bytes inside segment 7 and archived nothing: recovery goes 1 -> 3.
        var names = Segments(1, 1, 6).Concat(Segments(3, 7, 8));
        var histories = new[] { (2u, "1\t0/7000100\tx\n"), (3u, "1\t0/7000100\tx\n2\t0/7000200\ty\n") };

        var findings = Plan(names, histories, 3, 0x2000028);

        Assert.Empty(findings);
    }

    [Fact]
    public void Plan_HistoryMissing_CriticalHistoryMissingOnly()
    {
        var names = Segments(1, 1, 6).Append("000000010000000000000007.partial").Concat(Segments(2, 7, 9));

        var findings = Plan(names, [], 2, 0x2000028);

        var finding = Assert.Single(findings);
        Assert.Equal((Severity.Critical, FindingCodes.HistoryMissing, "00000002.history"), (finding.Severity, finding.Code, finding.Subject));
    }

    [Fact]
    public void Plan_OldTimelineKeptGoingAfterSwitch_Diverged()
    {
        var names = Segments(1, 1, 8).Concat(Segments(2, 7, 9));

        var findings = Plan(names, [(2, "1\t0/7000100\tpromoted\n")], 2, 0x2000028);

        var finding = Assert.Single(findings);
        Assert.Equal((Severity.Warning, FindingCodes.TimelineDiverged, "000000010000000000000007"), (finding.Severity, finding.Code, finding.Subject));
        Assert.Contains("2 segments", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_ArchiveHasTimelineNewerThanServer_Diverged()
    {
        var names = Segments(1, 1, 6).Concat(Segments(2, 7, 7));

        var findings = Plan(names, [(2, "1\t0/7000100\tpromoted\n")], 1, 0x2000028);

        Assert.Contains(findings, f => f.Code == FindingCodes.TimelineDiverged && f.Subject == "00000002.history");
    }

    [Fact]
    public void Plan_SegmentOnTimelineBeforeItBegan_TimelineMismatchWarning()
    {
        var names = Segments(1, 1, 6).Concat(Segments(2, 3, 3)).Concat(Segments(2, 7, 8));

        var findings = Plan(names, [(2, "1\t0/7000100\tpromoted\n")], 2, 0x2000028);

        var finding = Assert.Single(findings);
        Assert.Equal((Severity.Warning, FindingCodes.TimelineMismatch, "000000020000000000000003"), (finding.Severity, finding.Code, finding.Subject));
    }

    [Fact]
    public void Plan_HistoryContradictsParent_HistoryInvalid()
    {
        var names = Segments(1, 1, 6).Concat(Segments(2, 7, 8)).Concat(Segments(3, 9, 9));
        var histories = new[] { (2u, "1\t0/7000100\tx\n"), (3u, "1\t0/6000000\tx\n2\t0/9000000\ty\n") };

        var findings = Plan(names, histories, 3, 0x2000028);

        Assert.Contains(findings, f => f.Code == FindingCodes.HistoryInvalid && f.Subject == "00000003.history");
    }

    private static IEnumerable<string> Segments(uint timeline, ulong first, ulong last)
    {
        for (var s = first; s <= last; s++)
        {
            yield return WalFileName.FormatSegment(timeline, s, Size);
        }
    }

    private static IReadOnlyList<Finding> Plan(IEnumerable<string> names, IEnumerable<(uint Timeline, string Content)> histories, uint serverTimeline, ulong? start)
    {
        var parsed = new Dictionary<uint, TimelineHistory>();
        var entries = names.Select(n => new ArchiveEntry(n, (long)Size, DateTimeOffset.UnixEpoch)).ToList();
        foreach (var (timeline, content) in histories)
        {
            Assert.True(TimelineHistory.TryParse(timeline, content, out var history, out var error), error);
            parsed[timeline] = history!;
            entries.Add(new ArchiveEntry(WalFileName.FormatHistory(timeline), content.Length, DateTimeOffset.UnixEpoch));
        }

        var findings = new FindingList();
        TimelinePlanner.Plan(
            ArchiveInventory.Build(entries, Size), parsed, new HashSet<uint>(), Size, serverTimeline, start, "the test's start", AcknowledgedSegments.None, findings);
        return findings.Ordered();
    }
}
