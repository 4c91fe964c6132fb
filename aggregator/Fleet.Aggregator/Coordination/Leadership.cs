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
    /// <summary>
    /// For a term this aggregator holds: how long before the term began the previous leader had surely stopped
    /// acting. <c>StepDownMargin</c> when the term it saw last ended by its lease running out (a crash, a
    /// partition: the old leader stopped acting at least that long before its lease expired); zero when that
    /// term or a later one resigned, when no previous term was seen, and without coordination.
    /// docs/failover.md, "Several aggregators".
    /// </summary>
    public TimeSpan PredecessorQuiet { get; init; }

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

    /// <summary>
    /// What a newly elected leader may assume of its predecessor: it stopped acting <paramref name="stepDownMargin"/>
    /// before this term began if the term seen last (<paramref name="observedTerm"/>, 0 if none) ended by its lease
    /// running out, which is the case when neither it nor a later term left a resignation marker
    /// (<paramref name="resignedSinceObserved"/>). A resigning leader revokes its lease at once, so nothing is
    /// assumed then; nor when no term was seen.
    /// </summary>
    public static TimeSpan PredecessorQuiet(long observedTerm, long resignedSinceObserved, TimeSpan stepDownMargin) =>
        observedTerm > 0 && resignedSinceObserved == 0 ? stepDownMargin : TimeSpan.Zero;
}
