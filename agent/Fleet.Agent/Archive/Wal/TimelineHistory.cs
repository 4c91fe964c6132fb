using System.Globalization;

namespace Fleet.Agent.Archive.Wal;

/// <summary>A timeline and the WAL range it owns in some descendant's history: [Begin, End).</summary>
internal readonly record struct TimelineSpan(uint Timeline, ulong Begin, ulong End)
{
    /// <summary>End of the newest timeline: it has not ended.</summary>
    public const ulong Open = ulong.MaxValue;

    public bool Contains(ulong lsn) => lsn >= Begin && lsn < End;
}

/// <summary>
/// The ancestry of one timeline, from its <c>TTTTTTTT.history</c> file (timeline.c, readTimeLineHistory):
/// one line per ancestor, <c>parentTLI &lt;tab&gt; switchpoint &lt;tab&gt; reason</c>, oldest first; the switch
/// point is where the parent ended and the child began. Blank lines and '#' comments are ignored.
/// </summary>
internal sealed class TimelineHistory
{
    private TimelineHistory(uint timeline, IReadOnlyList<TimelineSpan> spans)
    {
        Timeline = timeline;
        Spans = spans;
    }

    public uint Timeline { get; }

    /// <summary>Oldest first; the last is <see cref="Timeline"/> itself, open-ended.</summary>
    public IReadOnlyList<TimelineSpan> Spans { get; }

    /// <summary>Where <see cref="Timeline"/> began (0 for a timeline without ancestors).</summary>
    public ulong Begin => Spans[^1].Begin;

    /// <summary>The history of a timeline with no parents (timeline 1, or one whose history file is unknown).</summary>
    public static TimelineHistory Root(uint timeline) => new(timeline, [new TimelineSpan(timeline, 0, TimelineSpan.Open)]);

    /// <summary>A history built from known spans (used when a history file is missing and the shape is inferred).</summary>
    public static TimelineHistory FromSpans(IReadOnlyList<TimelineSpan> spans) => new(spans[^1].Timeline, spans);

    /// <summary>Parses the content of <c>TTTTTTTT.history</c> for <paramref name="timeline"/>; <paramref name="error"/> says why not.</summary>
    public static bool TryParse(uint timeline, string content, out TimelineHistory? history, out string? error)
    {
        history = null;
        error = null;
        var spans = new List<TimelineSpan>();
        ulong begin = 0;
        var lineNumber = 0;
        foreach (var rawLine in content.Split('\n'))
        {
            lineNumber++;
            var line = rawLine.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var fields = line.Split(['\t', ' '], 3, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 2 ||
                !uint.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var parent) ||
                !Lsn.TryParse(fields[1], out var switchPoint))
            {
                error = $"line {lineNumber} is not 'parentTLI<TAB>switchpoint<TAB>reason': '{Truncate(line)}'";
                return false;
            }

            if (spans.Count > 0 && parent <= spans[^1].Timeline)
            {
                error = $"line {lineNumber}: timeline IDs must increase (timeline {parent} follows {spans[^1].Timeline})";
                return false;
            }

            if (switchPoint < begin)
            {
                error = $"line {lineNumber}: switch point {Lsn.Format(switchPoint)} precedes the previous one, {Lsn.Format(begin)}";
                return false;
            }

            spans.Add(new TimelineSpan(parent, begin, switchPoint));
            begin = switchPoint;
        }

        if (spans.Count == 0)
        {
            error = "it lists no parent timeline";
            return false;
        }

        if (spans[^1].Timeline >= timeline)
        {
            error = $"its newest parent, timeline {spans[^1].Timeline}, is not older than timeline {timeline}";
            return false;
        }

        spans.Add(new TimelineSpan(timeline, begin, TimelineSpan.Open));
        history = new TimelineHistory(timeline, spans);
        return true;
    }

    /// <summary>The timeline's span in this history, if it is an ancestor (or the timeline itself).</summary>
    public TimelineSpan? Find(uint timeline)
    {
        foreach (var span in Spans)
        {
            if (span.Timeline == timeline)
            {
                return span;
            }
        }

        return null;
    }

    /// <summary>The timeline that wrote the WAL at <paramref name="lsn"/> along this history.</summary>
    public uint TimelineAt(ulong lsn)
    {
        for (var i = Spans.Count - 1; i >= 0; i--)
        {
            if (lsn >= Spans[i].Begin)
            {
                return Spans[i].Timeline;
            }
        }

        return Spans[0].Timeline;
    }

    /// <summary>
    /// The file PostgreSQL restores for segment <paramref name="segmentNumber"/> when recovering along this
    /// history (XLogFileReadAnyTLI): the newest timeline that began at or before the segment.
    /// </summary>
    public uint TimelineForSegment(ulong segmentNumber, ulong segmentSize)
    {
        for (var i = Spans.Count - 1; i > 0; i--)
        {
            if (segmentNumber >= Spans[i].Begin / segmentSize)
            {
                return Spans[i].Timeline;
            }
        }

        return Spans[0].Timeline;
    }

    /// <summary>True when the parents of <paramref name="child"/> agree with this history (a prefix of the child's).</summary>
    public bool IsPrefixOf(TimelineHistory child)
    {
        var mine = Spans.Count - 1;
        if (child.Spans.Count <= mine)
        {
            return false;
        }

        for (var i = 0; i < mine; i++)
        {
            if (Spans[i] != child.Spans[i])
            {
                return false;
            }
        }

        return child.Spans[mine].Timeline == Timeline && child.Spans[mine].Begin == Begin;
    }

    /// <summary>"1 (up to 0/5000A0) → 2" for messages.</summary>
    public string Describe() => string.Join(" → ", Spans.Select(s => s.End == TimelineSpan.Open
        ? s.Timeline.ToString(CultureInfo.InvariantCulture)
        : string.Create(CultureInfo.InvariantCulture, $"{s.Timeline} (to {Lsn.Format(s.End)})")));

    private static string Truncate(string text) => text.Length <= 60 ? text : text[..60] + "…";
}
