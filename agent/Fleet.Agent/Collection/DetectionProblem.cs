namespace Fleet.Agent.Collection;

/// <summary>
/// Why this node would notice a silent primary late (set by the replication-timeouts check), copied into
/// every snapshot as detection_problem; null when none.
/// </summary>
public sealed class DetectionProblem
{
    private string? _text;

    public string? Text => Volatile.Read(ref _text);

    /// <summary>Sets the problem; true when it changed.</summary>
    public bool Set(string? text) => !string.Equals(Interlocked.Exchange(ref _text, text), text, StringComparison.Ordinal);
}
