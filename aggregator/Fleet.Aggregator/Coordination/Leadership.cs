namespace Fleet.Aggregator.Coordination;

/// <summary>
/// Who may act for the region: grant agent leases, run the failover policy, send commands. One owner:
/// everything that acts asks <see cref="IsLeader"/> with the current time just before it acts.
/// </summary>
public interface ILeadership
{
    /// <summary>True while this aggregator holds a leadership term that has surely not lapsed at <paramref name="now"/>.</summary>
    bool IsLeader(DateTimeOffset now);

    /// <summary>What this aggregator knows of the leadership now (for status and for refusing on a follower).</summary>
    LeadershipStatus Status(DateTimeOffset now);

    /// <summary>One of several aggregators coordinated by a store, of which only the leader acts (agents may link to all).</summary>
    bool Coordinated => false;
}

/// <summary>A leadership term: who holds it and until when this holder may act.</summary>
/// <param name="IsLeader">This aggregator holds the term (check <see cref="ActUntil"/> against the clock before acting).</param>
/// <param name="Holder">The leader's name.</param>
/// <param name="Address">The leader's advertised gRPC address, or null.</param>
/// <param name="Term">The revision of the leader key's write on etcd (0 without coordination): increases with every new term; a key overwritten or re-created is a new term.</param>
/// <param name="ActUntil">Until when this aggregator may act as leader (null when it does not lead, or leads alone).</param>
public sealed record LeadershipStatus(bool IsLeader, string? Holder, string? Address, long Term, DateTimeOffset? ActUntil)
{
    public static LeadershipStatus NoLeaderKnown { get; } = new(false, null, null, 0, null);

    /// <summary>"agg-a at 10.0.0.1:7300" (or the name alone without an address); null when no leader is known.</summary>
    public string? DescribeHolder() => Holder is null ? null : Address is null ? Holder : $"{Holder} at {Address}";
}

/// <summary>Mode None: the only aggregator of its region always leads.</summary>
internal sealed class SoleLeadership(string name, string? address) : ILeadership
{
    public bool IsLeader(DateTimeOffset now) => true;

    public LeadershipStatus Status(DateTimeOffset now) => new(true, name, address, 0, null);
}

/// <summary>
/// The pure arithmetic of a leader's lease (docs/failover.md, "Several aggregators"). etcd starts a renewed
/// lease's TTL when it receives the renewal, which is after the leader sent it; so counting from the send time
/// the leader's own view ends no later than etcd's, and another aggregator can be elected only after etcd's.
/// The margin covers the leader's clock running slow and a command already on its way.
/// </summary>
public static class LeaderLease
{
    public static DateTimeOffset ActUntil(DateTimeOffset renewalSentAt, TimeSpan grantedTtl, TimeSpan stepDownMargin) =>
        renewalSentAt + grantedTtl - stepDownMargin;
}
