namespace Fleet.Agent.Link;

/// <summary>The aggregator refused this agent (wrong region, duplicate identity): retry slowly, not fast.</summary>
internal sealed class LinkRejectedException(string reason) : Exception(reason);

/// <summary>The agent itself keeps this link closed (<see cref="LinkAdmission"/>): retried with the reconnect backoff.</summary>
internal sealed class LinkHeldBackException(string reason) : Exception(reason);
