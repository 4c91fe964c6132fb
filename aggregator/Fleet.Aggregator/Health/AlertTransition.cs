using Fleet.Protos.V1;

namespace Fleet.Aggregator.Health;

/// <summary>
/// One change of an alert's state, for the caller to store, publish (Watch alert_changed) and append
/// as an EVENT_KIND_ALERT event. <see cref="From"/> is <see cref="AlertState.Unspecified"/> when the
/// alert is new. <see cref="Alert"/> is a fresh snapshot owned by the receiver.
/// </summary>
public sealed record AlertTransition(
    Alert Alert,
    AlertState From,
    AlertState To,
    string Reason,
    string Subject,
    ulong Sequence,
    DateTimeOffset At)
{
    /// <summary>A pending alert that cleared before it fired: worth an event, not a page.</summary>
    public bool IsCancelledPending => From == AlertState.Pending && To == AlertState.Resolved;
}

/// <summary>A node's health from its firing alerts (Node.health and Node.health_reasons).</summary>
public sealed record NodeHealthSummary(HealthLevel Level, IReadOnlyList<string> Reasons);
