using Fleet.Agent.Archive.Wal;

namespace Fleet.Agent.Archive.Verification;

/// <summary>
/// Segments an operator has acknowledged as lost (Archive:AcknowledgedMissing): a segment name, or a range
/// "FIRST-LAST" on one timeline. Their absence is reported as information instead of a failure, so a known,
/// accepted hole (covered by a newer base backup) does not keep the verdict at FAILURE forever.
/// </summary>
internal sealed class AcknowledgedSegments
{
    private readonly List<(string First, string Last)> _ranges = [];

    public static AcknowledgedSegments None { get; } = new();

    public static bool TryParse(IEnumerable<string> entries, out AcknowledgedSegments result, out List<string> errors)
    {
        result = new AcknowledgedSegments();
        errors = [];
        var index = 0;
        foreach (var raw in entries)
        {
            var entry = raw.Trim();
            var dash = entry.IndexOf('-', StringComparison.Ordinal);
            var first = dash < 0 ? entry : entry[..dash].Trim();
            var last = dash < 0 ? entry : entry[(dash + 1)..].Trim();
            if (!IsSegment(first) || !IsSegment(last) || string.CompareOrdinal(first, last) > 0 || first[..8] != last[..8])
            {
                errors.Add($"Archive:AcknowledgedMissing:{index} '{raw}' must be a WAL segment name or FIRST-LAST on one timeline, FIRST <= LAST.");
            }
            else
            {
                result._ranges.Add((first, last));
            }

            index++;
        }

        return errors.Count == 0;
    }

    public bool Covers(string segmentName) =>
        _ranges.Exists(r => string.CompareOrdinal(segmentName, r.First) >= 0 && string.CompareOrdinal(segmentName, r.Last) <= 0);

    private static bool IsSegment(string name) =>
        WalFileName.TryParse(name, out var parsed) && parsed.Kind == WalFileKind.Segment && parsed.Compression == WalCompression.None;
}
