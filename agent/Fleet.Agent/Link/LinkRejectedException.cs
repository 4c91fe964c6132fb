namespace Fleet.Agent.Link;

/// <summary>The aggregator refused this agent (wrong region, duplicate identity): retry slowly, not fast.</summary>
internal sealed class LinkRejectedException(string reason) : Exception(reason);
