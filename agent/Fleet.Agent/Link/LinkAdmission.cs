namespace Fleet.Agent.Link;

/// <summary>
/// Which aggregator links may be open together. Aggregators coordinated by a store (Coordination:Mode Etcd)
/// elect one leader and only it acts, so the agent links to all of them at once: every one holds the region's
/// picture, and a new leader has fresh reports the moment it is elected. An aggregator that acts alone
/// (Mode None, or one too old to say) is linked alone: two aggregators that do not know of each other must
/// never both grant leases to, or command, the same agent.
/// </summary>
internal sealed class LinkAdmission
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, bool> _open = new(StringComparer.Ordinal); // endpoint → coordinated

    /// <summary>Admits the link of <paramref name="endpoint"/> (welcomed just now); null when admitted, else why not.</summary>
    public string? TryOpen(string endpoint, bool coordinated)
    {
        lock (_lock)
        {
            foreach (var (other, otherCoordinated) in _open)
            {
                if (other == endpoint || (coordinated && otherCoordinated))
                {
                    continue;
                }

                return coordinated
                    ? $"the agent already links to {other}, an aggregator that acts alone (Coordination:Mode None)"
                    : $"this aggregator acts alone (Coordination:Mode None, not coordinated with other aggregators) and the agent already links to {other}";
            }

            _open[endpoint] = coordinated;
            return null;
        }
    }

    public void Close(string endpoint)
    {
        lock (_lock)
        {
            _open.Remove(endpoint);
        }
    }
}
