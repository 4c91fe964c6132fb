namespace Fleet.Aggregator.Coordination;

internal static partial class CoordinationLog
{
    [LoggerMessage(EventId = 7001, EventName = "CoordinationStarted", Level = LogLevel.Information,
        Message = "Coordination on etcd: this aggregator is {Name}; leader key {Key} on {Endpoints}, lease TTL {TtlSeconds} s")]
    public static partial void Started(ILogger logger, string name, string key, string endpoints, long ttlSeconds);

    [LoggerMessage(EventId = 7002, EventName = "BecameLeader", Level = LogLevel.Warning,
        Message = "{Name} now leads the region (term {Term}, key {Key}): it grants leases, decides failovers and sends commands; the previous leader is assumed quiet for {PredecessorQuietMs} ms before this term (lease ran out: StepDownMargin; resigned or unknown: 0)")]
    public static partial void BecameLeader(ILogger logger, string name, long term, string key, long predecessorQuietMs);

    [LoggerMessage(EventId = 7003, EventName = "Following", Level = LogLevel.Information,
        Message = "Following the leader {Leader} (term {Term}): this aggregator ingests and serves reads only")]
    public static partial void Following(ILogger logger, string leader, long term);

    [LoggerMessage(EventId = 7004, EventName = "SteppedDown", Level = LogLevel.Error,
        Message = "{Name} stopped leading (term {Term}): {Reason}; it acts no more until elected again")]
    public static partial void SteppedDown(ILogger logger, string name, long term, string reason);

    [LoggerMessage(EventId = 7005, EventName = "EtcdUnreachable", Level = LogLevel.Warning,
        Message = "etcd does not answer: {Error}; retrying every renew interval")]
    public static partial void EtcdFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 7006, EventName = "EtcdReachable", Level = LogLevel.Information,
        Message = "etcd answers again")]
    public static partial void EtcdReachable(ILogger logger);

    [LoggerMessage(EventId = 7007, EventName = "Resigned", Level = LogLevel.Information,
        Message = "{Name} resigned the leadership on shutdown (lease revoked)")]
    public static partial void Resigned(ILogger logger, string name);

    [LoggerMessage(EventId = 7008, EventName = "ResignFailed", Level = LogLevel.Warning,
        Message = "Could not revoke the leader lease on shutdown ({Error}); it runs out after its TTL")]
    public static partial void ResignFailed(ILogger logger, string error);
}
