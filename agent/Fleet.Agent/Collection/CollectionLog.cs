using Fleet.Protos.V1;

namespace Fleet.Agent.Collection;

/// <summary>Log messages of the collection loop (event ids 3001–3099); state changes only, never per cycle.</summary>
internal static partial class CollectionLog
{
    [LoggerMessage(EventId = 3001, EventName = "PostgresUp", Level = LogLevel.Information,
        Message = "PostgreSQL is up ({ServerVersion}, role {Role}); was {PreviousState}")]
    public static partial void PostgresUp(ILogger logger, string serverVersion, NodeRole role, PostgresState previousState);

    [LoggerMessage(EventId = 3002, EventName = "PostgresNotUp", Level = LogLevel.Warning,
        Message = "PostgreSQL is {State}: {Reason}; was {PreviousState}")]
    public static partial void PostgresNotUp(ILogger logger, PostgresState state, string reason, PostgresState previousState);

    [LoggerMessage(EventId = 3003, EventName = "CollectionFailed", Level = LogLevel.Error,
        Message = "Collection cycle failed unexpectedly; the loop continues")]
    public static partial void CollectionFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3004, EventName = "CollectionLoopStarted", Level = LogLevel.Information,
        Message = "Collecting every {Interval}; slow figures every {SlowInterval}")]
    public static partial void LoopStarted(ILogger logger, TimeSpan interval, TimeSpan slowInterval);
}
