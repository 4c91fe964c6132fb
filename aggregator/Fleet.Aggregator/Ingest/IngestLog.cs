
namespace Fleet.Aggregator.Ingest;

internal static partial class IngestLog
{
    [LoggerMessage(EventId = 3001, EventName = "AgentAdmitted", Level = LogLevel.Information,
        Message = "Agent {Node} of cluster {Cluster} admitted from {Peer} (agent {AgentVersion})")]
    public static partial void Admitted(ILogger logger, string node, string cluster, string peer, string agentVersion);

    [LoggerMessage(EventId = 3002, EventName = "AgentRefusedRegion", Level = LogLevel.Warning,
        Message = "Refused agent from {Peer}: {Reason}")]
    public static partial void RefusedRegion(ILogger logger, string peer, string reason);

    [LoggerMessage(EventId = 3003, EventName = "AgentRefusedDuplicate", Level = LogLevel.Warning,
        Message = "Refused agent {Node} of cluster {Cluster} from {Peer}: already connected from {HolderPeer}")]
    public static partial void RefusedDuplicate(ILogger logger, string node, string cluster, string peer, string holderPeer);

    [LoggerMessage(EventId = 3004, EventName = "AgentMalformed", Level = LogLevel.Warning,
        Message = "Closed link from {Peer}: {Reason}")]
    public static partial void Malformed(ILogger logger, string peer, string reason);

    [LoggerMessage(EventId = 3005, EventName = "AgentDisconnected", Level = LogLevel.Information,
        Message = "Agent {Node} of cluster {Cluster} disconnected")]
    public static partial void Disconnected(ILogger logger, string node, string cluster);

    [LoggerMessage(EventId = 3006, EventName = "AgentLinkBroken", Level = LogLevel.Warning,
        Message = "Link of agent {Node} of cluster {Cluster} broke: {Reason}")]
    public static partial void LinkBroken(ILogger logger, string node, string cluster, string reason);
}
