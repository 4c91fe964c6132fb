namespace Fleet.Agent.Api;

/// <summary>
/// Log events of AgentService's operator methods: one per call (5101 succeeded, 5102 refused, 5103
/// failed), each with actor, action, epoch, outcome, reason and peer; 5104 when the audit file cannot be written.
/// </summary>
internal static partial class OperatorLog
{
    [LoggerMessage(EventId = 5101, EventName = "OperatorActionSucceeded", Level = LogLevel.Warning,
        Message = "Operator action {Action} by {Actor} from {Peer} under epoch {Epoch}: {Outcome}: {Summary} (reason: {Reason})")]
    public static partial void Succeeded(ILogger logger, string action, string actor, string peer, ulong epoch, string outcome, string summary, string reason);

    [LoggerMessage(EventId = 5102, EventName = "OperatorActionRefused", Level = LogLevel.Warning,
        Message = "Operator action {Action} by {Actor} from {Peer} under epoch {Epoch} refused: {Outcome}: {Summary} (reason: {Reason})")]
    public static partial void Refused(ILogger logger, string action, string actor, string peer, ulong epoch, string outcome, string summary, string reason);

    [LoggerMessage(EventId = 5103, EventName = "OperatorActionFailed", Level = LogLevel.Error,
        Message = "Operator action {Action} by {Actor} from {Peer} under epoch {Epoch} failed: {Outcome}: {Summary} (reason: {Reason})")]
    public static partial void Failed(ILogger logger, string action, string actor, string peer, ulong epoch, string outcome, string summary, string reason);

    [LoggerMessage(EventId = 5104, EventName = "OperatorAuditWriteFailed", Level = LogLevel.Error,
        Message = "Could not append to the audit file {Path} ({Action} by {Actor}: {Outcome}); the log entry of the call is its only record")]
    public static partial void AuditWriteFailed(ILogger logger, string path, string action, string actor, string outcome, Exception exception);
}
