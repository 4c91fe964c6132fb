
namespace Fleet.Aggregator.Failover;

internal static partial class FailoverLog
{
    [LoggerMessage(EventId = 6001, EventName = "FailoverVerdictChanged", Level = LogLevel.Warning,
        Message = "Cluster {Cluster}: {Summary}")]
    public static partial void VerdictChanged(ILogger logger, string cluster, string summary);

    [LoggerMessage(EventId = 6002, EventName = "FailoverStarted", Level = LogLevel.Warning,
        Message = "Cluster {Cluster}: failover from {OldPrimary} to {Candidate} under epoch {Epoch}")]
    public static partial void Started(ILogger logger, string cluster, string oldPrimary, string candidate, ulong epoch);

    [LoggerMessage(EventId = 6003, EventName = "FailoverCompleted", Level = LogLevel.Warning,
        Message = "Cluster {Cluster}: {Candidate} is the primary (epoch {Epoch}, timeline {Timeline}) after {DurationMs} ms")]
    public static partial void Completed(ILogger logger, string cluster, string candidate, ulong epoch, uint timeline, long durationMs);

    [LoggerMessage(EventId = 6004, EventName = "FailoverFailed", Level = LogLevel.Error,
        Message = "Cluster {Cluster}: failover to {Candidate} under epoch {Epoch} failed at {Step}: {Reason}")]
    public static partial void Failed(ILogger logger, string cluster, string candidate, ulong epoch, string step, string reason);

    [LoggerMessage(EventId = 6005, EventName = "EpochAdvanceFailed", Level = LogLevel.Error,
        Message = "Cluster {Cluster}: could not advance the epoch from {Expected}: it is {Current}")]
    public static partial void EpochAdvanceFailed(ILogger logger, string cluster, ulong expected, ulong current);

    [LoggerMessage(EventId = 6006, EventName = "RejoinSent", Level = LogLevel.Warning,
        Message = "Cluster {Cluster}: old primary {Node} returned; asking it to rejoin {Primary} as a replica")]
    public static partial void RejoinSent(ILogger logger, string cluster, string node, string primary);

    [LoggerMessage(EventId = 6007, EventName = "ControllerLoopFailed", Level = LogLevel.Error,
        Message = "Failover controller cycle failed; continuing")]
    public static partial void LoopFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 6008, EventName = "FailoverResumed", Level = LogLevel.Information,
        Message = "Cluster {Cluster}: resumed from the store: primary {Primary}, epoch {Epoch}, pending promotion {Pending}")]
    public static partial void Resumed(ILogger logger, string cluster, string primary, ulong epoch, string pending);

    [LoggerMessage(EventId = 6009, EventName = "PrimaryNotSaved", Level = LogLevel.Error,
        Message = "Cluster {Cluster}: the published primary could not be stored")]
    public static partial void SaveFailed(ILogger logger, string cluster, Exception exception);

    [LoggerMessage(EventId = 6010, EventName = "PromotionAdopted", Level = LogLevel.Warning,
        Message = "Cluster {Cluster}: {Node} reports itself primary under epoch {Epoch}; its unconfirmed promotion is adopted")]
    public static partial void Adopted(ILogger logger, string cluster, string node, ulong epoch);

    [LoggerMessage(EventId = 6011, EventName = "RepointingReplica", Level = LogLevel.Warning,
        Message = "Cluster {Cluster}: replica {Node} does not stream from the primary {Primary}; asking it to follow")]
    public static partial void Repointing(ILogger logger, string cluster, string node, string primary);

    [LoggerMessage(EventId = 6012, EventName = "RepairLinkClosed", Level = LogLevel.Warning,
        Message = "Cluster {Cluster}: the link to {Node} closed before it answered '{Action}' ({Reason}); asking again when it reconnects")]
    public static partial void RepairLinkClosed(ILogger logger, string cluster, string node, string action, string reason);

    [LoggerMessage(EventId = 6013, EventName = "OperatorDecisionWithoutCurrentReports", Level = LogLevel.Information,
        Message = "Cluster {Cluster}: some connected agents stayed silent for {StaleAfter} after an operator request; deciding without their current reports")]
    public static partial void DecidingWithoutCurrentReports(ILogger logger, string cluster, TimeSpan staleAfter);

    [LoggerMessage(EventId = 6014, EventName = "AuditNotStored", Level = LogLevel.Error,
        Message = "Cluster {Cluster}: the audit record of a decision could not be stored; the record: {Decision}")]
    public static partial void AuditFailed(ILogger logger, string cluster, string decision, Exception exception);

    [LoggerMessage(EventId = 6015, EventName = "EpochsNotLoaded", Level = LogLevel.Warning,
        Message = "The clusters' epochs could not be read at start; this follower shows them once it leads")]
    public static partial void EpochsNotLoaded(ILogger logger, Exception exception);
}
