
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
}
