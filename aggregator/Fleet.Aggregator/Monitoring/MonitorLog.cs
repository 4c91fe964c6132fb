
namespace Fleet.Aggregator.Monitoring;

internal static partial class MonitorLog
{
    [LoggerMessage(EventId = 4001, EventName = "EventDropped", Level = LogLevel.Error,
        Message = "Event queue full (store stalled?): dropped '{Message}'")]
    public static partial void EventDropped(ILogger logger, string message);

    [LoggerMessage(EventId = 4002, EventName = "StoreWriteFailed", Level = LogLevel.Error,
        Message = "Could not store {Count} events/alert changes")]
    public static partial void StoreWriteFailed(ILogger logger, int count, Exception exception);

    [LoggerMessage(EventId = 4003, EventName = "AlertTransition", Level = LogLevel.Information,
        Message = "Alert {Rule} on {Cluster}/{Node} {From} -> {To}: {Reason}")]
    public static partial void AlertTransition(ILogger logger, string rule, string cluster, string node, string from, string to, string reason);

    [LoggerMessage(EventId = 4004, EventName = "SweepFailed", Level = LogLevel.Error,
        Message = "Fleet sweep failed; retrying next interval")]
    public static partial void SweepFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 4005, EventName = "Restored", Level = LogLevel.Information,
        Message = "Restored {Alerts} active alerts and {Epochs} cluster epochs from the store")]
    public static partial void Restored(ILogger logger, int alerts, int epochs);
}
