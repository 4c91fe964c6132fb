
namespace Fleet.Agent.Actions;

internal static partial class ActionLog
{
    [LoggerMessage(EventId = 5001, EventName = "ActionStarting", Level = LogLevel.Warning,
        Message = "{Action} under epoch {Epoch} (command {CommandId}) starting")]
    public static partial void Starting(ILogger logger, string action, ulong epoch, string commandId);

    [LoggerMessage(EventId = 5002, EventName = "ActionSucceeded", Level = LogLevel.Warning,
        Message = "{Action} under epoch {Epoch} succeeded: {Summary}")]
    public static partial void Succeeded(ILogger logger, string action, ulong epoch, string summary);

    [LoggerMessage(EventId = 5003, EventName = "ActionFailed", Level = LogLevel.Error,
        Message = "{Action} under epoch {Epoch} failed: {Reason}")]
    public static partial void Failed(ILogger logger, string action, ulong epoch, string reason);

    [LoggerMessage(EventId = 5004, EventName = "StaleEpochRefused", Level = LogLevel.Warning,
        Message = "Refused {Action} with stale epoch {Epoch}: highest seen is {Highest}")]
    public static partial void StaleEpoch(ILogger logger, string action, ulong epoch, ulong highest);

    [LoggerMessage(EventId = 5005, EventName = "SelfFencing", Level = LogLevel.Critical,
        Message = "Self-fencing this primary: {Reason}")]
    public static partial void SelfFencing(ILogger logger, string reason);

    [LoggerMessage(EventId = 5006, EventName = "SelfFencingFailed", Level = LogLevel.Critical,
        Message = "Self-fencing failed; retrying")]
    public static partial void SelfFencingFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 5010, EventName = "RestartingInPlace", Level = LogLevel.Critical,
        Message = "The postmaster of this primary died and the cluster has no replica to fail over to: restarting PostgreSQL in place (crash recovery)")]
    public static partial void RestartingInPlace(ILogger logger);

    [LoggerMessage(EventId = 5011, EventName = "RestartedInPlace", Level = LogLevel.Warning,
        Message = "PostgreSQL restarted in place after a postmaster crash (attempt {Attempt}, {ElapsedMs} ms)")]
    public static partial void RestartedInPlace(ILogger logger, int attempt, long elapsedMs);

    [LoggerMessage(EventId = 5012, EventName = "RestartInPlaceFailed", Level = LogLevel.Critical,
        Message = "PostgreSQL did not restart in place after {Attempts} attempts: declaring it down and fenced")]
    public static partial void RestartInPlaceFailed(ILogger logger, int attempts, Exception exception);

    [LoggerMessage(EventId = 5013, EventName = "PostgresNotAnswering", Level = LogLevel.Warning,
        Message = "PostgreSQL does not answer the agent's ping (no answer within {TimeoutMs} ms): frozen, stalled or overloaded")]
    public static partial void PostgresNotAnswering(ILogger logger, long timeoutMs);

    [LoggerMessage(EventId = 5014, EventName = "PostgresAnswersAgain", Level = LogLevel.Warning,
        Message = "PostgreSQL answers the agent's ping again after {UnansweredMs} ms without an answer")]
    public static partial void PostgresAnswersAgain(ILogger logger, long unansweredMs);

    [LoggerMessage(EventId = 5015, EventName = "PostgresKilled", Level = LogLevel.Critical,
        Message = "Killed PostgreSQL ({Processes} processes, SIGKILL): declared down and fenced; the agent will not restart it")]
    public static partial void PostgresKilled(ILogger logger, int processes);

    [LoggerMessage(EventId = 5016, EventName = "ReplicationTimeoutsApplied", Level = LogLevel.Warning,
        Message = "Set {Settings} on PostgreSQL (ALTER SYSTEM, reload) for failure detection")]
    public static partial void ReplicationTimeoutsApplied(ILogger logger, string settings);

    [LoggerMessage(EventId = 5017, EventName = "DetectionProblem", Level = LogLevel.Warning,
        Message = "Failure detection is slower than the aggregator expects: {Problem}")]
    public static partial void DetectionProblem(ILogger logger, string problem);

    [LoggerMessage(EventId = 5018, EventName = "StorageStalled", Level = LogLevel.Error,
        Message = "Storage stalled: a write to {File} has not completed for {StalledMs} ms; PostgreSQL is reported unresponsive")]
    public static partial void StorageStalled(ILogger logger, string file, long stalledMs);

    [LoggerMessage(EventId = 5019, EventName = "StorageResumed", Level = LogLevel.Warning,
        Message = "Storage completes writes again")]
    public static partial void StorageResumed(ILogger logger);

    [LoggerMessage(EventId = 5020, EventName = "StorageProbeFailed", Level = LogLevel.Warning,
        Message = "The storage probe cannot write: {Error}; storage stalls are not detected until it can")]
    public static partial void StorageProbeFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 5021, EventName = "WalReceiverChanged", Level = LogLevel.Information,
        Message = "WAL receiver changed from {Before} to {Now}: collecting and reporting at once")]
    public static partial void WalReceiverChanged(ILogger logger, string before, string now);

    [LoggerMessage(EventId = 5022, EventName = "WalReceiverCollectFailed", Level = LogLevel.Warning,
        Message = "Collecting after a WAL receiver change failed; the next cycle reports it")]
    public static partial void WalReceiverCollectFailed(ILogger logger, Exception exception);
}
