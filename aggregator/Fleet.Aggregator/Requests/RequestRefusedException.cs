namespace Fleet.Aggregator.Requests;

/// <summary>Why the aggregator refused a request, in its own terms; each edge maps it to its protocol's status.</summary>
public enum RefusalKind
{
    /// <summary>The request is malformed or incomplete (gRPC INVALID_ARGUMENT, HTTP 400).</summary>
    InvalidArgument,

    /// <summary>The cluster or node named is unknown in this region (gRPC NOT_FOUND, HTTP 404).</summary>
    NotFound,

    /// <summary>The caller's expected epoch is not the cluster's (gRPC ABORTED, HTTP 409): read again and retry.</summary>
    StaleEpoch,

    /// <summary>A role change asked of an aggregator that does not lead its region (gRPC FAILED_PRECONDITION, HTTP 421): ask the leader named in the message.</summary>
    NotLeader,
}

/// <summary>
/// A request the aggregator will not act on, thrown by its domain code (failover, queries). Transport
/// types stay at the edges: the gRPC interceptor and the HTTP API translate it.
/// </summary>
public sealed class RequestRefusedException(RefusalKind kind, string message) : Exception(message)
{
    public RefusalKind Kind { get; } = kind;
}
