using Fleet.Protos.V1;

namespace Fleet.Agent.Archive.Verification;

/// <summary>
/// Findings collected during one verification, each with its position in WAL (0 for findings about the
/// archive or node as a whole) so they can be reported in WAL order.
/// </summary>
internal sealed class FindingList
{
    private readonly List<(ulong Position, int Sequence, Finding Finding)> _items = [];

    public int Count => _items.Count;

    public void Add(Severity severity, string code, string subject, string message, ulong position = 0) =>
        _items.Add((position, _items.Count, new Finding { Severity = severity, Code = code, Subject = subject, Message = message }));

    public void Critical(string code, string subject, string message, ulong position = 0) => Add(Severity.Critical, code, subject, message, position);

    public void Warning(string code, string subject, string message, ulong position = 0) => Add(Severity.Warning, code, subject, message, position);

    public void Info(string code, string subject, string message, ulong position = 0) => Add(Severity.Info, code, subject, message, position);

    public bool Any(string code) => _items.Exists(i => i.Finding.Code == code);

    /// <summary>Findings in WAL order (archive-wide ones first), stable for equal positions.</summary>
    public IReadOnlyList<Finding> Ordered() =>
        [.. _items.OrderBy(i => i.Position).ThenBy(i => i.Sequence).Select(i => i.Finding)];

    /// <summary>FAILURE if any critical finding, WARNING if any warning, else OK.</summary>
    public static ArchiveVerdict Verdict(IReadOnlyList<Finding> findings)
    {
        var worst = findings.Count == 0 ? Severity.Unspecified : findings.Max(f => f.Severity);
        return worst switch
        {
            Severity.Critical => ArchiveVerdict.Failure,
            Severity.Warning => ArchiveVerdict.Warning,
            _ => ArchiveVerdict.Ok,
        };
    }

    /// <summary>The earliest finding (in WAL order) with the verdict's severity; null for OK.</summary>
    public static Finding? FirstProblem(IReadOnlyList<Finding> findings, ArchiveVerdict verdict)
    {
        var severity = verdict switch
        {
            ArchiveVerdict.Failure => Severity.Critical,
            ArchiveVerdict.Warning => Severity.Warning,
            _ => Severity.Unspecified,
        };
        return severity == Severity.Unspecified ? null : findings.FirstOrDefault(f => f.Severity == severity);
    }
}
