
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
}
