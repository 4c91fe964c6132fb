
namespace Fleet.Aggregator.Monitoring;

internal static partial class MonitorLog
{
    [LoggerMessage(EventId = 4001, EventName = "EventDropped", Level = LogLevel.Error,
        Message = "Event queue full (store stalled?): dropped '{Message}'")]
    public static partial void EventDropped(ILogger logger, string message);

    [LoggerMessage(EventId = 4002, EventName = "StoreWriteFailed", Level = LogLevel.Error,
        Message = "Could not store {Count} events/alert changes; they are kept and tried again")]
    public static partial void StoreWriteFailed(ILogger logger, int count, Exception exception);

    [LoggerMessage(EventId = 4003, EventName = "AlertTransition", Level = LogLevel.Information,
        Message = "Alert {Rule} on {Cluster}/{Node} {From} -> {To}: {Reason}")]
    public static partial void AlertTransition(ILogger logger, string rule, string cluster, string node, string from, string to, string reason);

    [LoggerMessage(EventId = 4004, EventName = "SweepFailed", Level = LogLevel.Error,
        Message = "Fleet sweep failed; retrying next interval")]
    public static partial void SweepFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 4005, EventName = "Restored", Level = LogLevel.Information,
        Message = "Restored {Alerts} active alerts from the store")]
    public static partial void Restored(ILogger logger, int alerts);

    [LoggerMessage(EventId = 4010, EventName = "EventTailFailed", Level = LogLevel.Warning,
        Message = "Could not read new events from the shared store after event {LastId}; trying again")]
    public static partial void EventTailFailed(ILogger logger, ulong lastId, Exception exception);

    [LoggerMessage(EventId = 4011, EventName = "AlertsTakenOver", Level = LogLevel.Information,
        Message = "Took over the stored alerts for leadership term {Term}: {Stored} active in the store, {Resolved} no longer hold here and were resolved")]
    public static partial void AlertsTakenOver(ILogger logger, long term, int stored, int resolved);

    [LoggerMessage(EventId = 4012, EventName = "AlertsTakeOverFailed", Level = LogLevel.Warning,
        Message = "Could not read the stored alerts for leadership term {Term}; the previous leader's alerts stay as stored")]
    public static partial void AlertsTakeOverFailed(ILogger logger, long term, Exception exception);

    [LoggerMessage(EventId = 4013, EventName = "HistoryNotShared", Level = LogLevel.Warning,
        Message = "Coordination:Mode is Etcd but Store:Provider is Sqlite: events, alerts and audit stay in this aggregator's own file, so after a leader change the new leader does not have them; set Store:Provider=Postgres (docs/store.md)")]
    public static partial void HistoryNotShared(ILogger logger);
}
