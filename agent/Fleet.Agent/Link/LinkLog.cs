
namespace Fleet.Agent.Link;

internal static partial class LinkLog
{
    [LoggerMessage(EventId = 2001, EventName = "LinkStandalone", Level = LogLevel.Information,
        Message = "No aggregator endpoint configured: running standalone")]
    public static partial void Standalone(ILogger logger);

    [LoggerMessage(EventId = 2002, EventName = "LinkWelcomed", Level = LogLevel.Information,
        Message = "Connected to aggregator {AggregatorId} of region {Region}")]
    public static partial void Welcomed(ILogger logger, string aggregatorId, string region);

    [LoggerMessage(EventId = 2003, EventName = "LinkRejected", Level = LogLevel.Warning,
        Message = "Aggregator {Endpoint} refused this agent: {Reason}")]
    public static partial void Rejected(ILogger logger, string endpoint, string reason);

    [LoggerMessage(EventId = 2004, EventName = "LinkDisconnected", Level = LogLevel.Warning,
        Message = "Link to aggregator {Endpoint} lost: {Reason}; reconnecting")]
    public static partial void Disconnected(ILogger logger, string endpoint, string reason);

    [LoggerMessage(EventId = 2005, EventName = "LinkHeldBack", Level = LogLevel.Warning,
        Message = "Not linking to aggregator {Endpoint}: {Reason}; trying again later")]
    public static partial void HeldBack(ILogger logger, string endpoint, string reason);
}
