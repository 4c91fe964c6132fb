using Fleet.Aggregator.Failover;

namespace Fleet.Aggregator.Tests.Failover;

/// <summary>The rules a leader applies to each report (lease, adoption, rejoin, repoint), as a table.</summary>
public sealed class ReportPolicyTests
{
    // A healthy streaming replica of a cluster whose published primary is up: the most common report.
    private static readonly ReportFacts Replica = new() { Up = true, PublishedPrimaryUp = true, RejoinDue = true };

    private static readonly ReportFacts Primary = new() { FromPublishedPrimary = true, ReportsPrimary = true, Up = true, PublishedPrimaryUp = true };

    public static TheoryData<string, ReportFacts, ReportAction> Cases => new()
    {
        // The published primary: a lease while it serves or stalls briefly, never during a role change.
        { "primary, up", Primary, ReportAction.Grant },
        { "primary, unresponsive within the timeout", Primary with { Up = false, UnresponsiveWithinTimeout = true }, ReportAction.Grant },
        { "primary, down", Primary with { Up = false }, ReportAction.None },
        { "primary, changing role", Primary with { ChangeInProgress = true }, ReportAction.None },
        { "published primary reporting as a replica", Primary with { ReportsPrimary = false }, ReportAction.None },
        { "published primary, former-primary flags ignored", Primary with { Up = false, FormerPrimary = true, Fenced = true }, ReportAction.None },

        // The pending candidate: adopted only once it reports itself primary, up, having seen the pending epoch.
        { "pending candidate promoted", Replica with { FromPendingCandidate = true, PromotionPending = true, ReportsPrimary = true, SawPendingEpoch = true }, ReportAction.Adopt },
        { "pending candidate promoted, older epoch", Replica with { FromPendingCandidate = true, PromotionPending = true, ReportsPrimary = true }, ReportAction.None },
        { "pending candidate still a replica", Replica with { FromPendingCandidate = true, PromotionPending = true, SawPendingEpoch = true }, ReportAction.None },
        { "pending candidate primary but down", Replica with { FromPendingCandidate = true, PromotionPending = true, ReportsPrimary = true, SawPendingEpoch = true, Up = false }, ReportAction.None },

        // A former primary comes back: running as a primary, fenced, or a replica that does not stream.
        { "former primary running as a primary", Replica with { FormerPrimary = true, ReportsPrimary = true }, ReportAction.Rejoin },
        { "former primary fenced (down)", Replica with { FormerPrimary = true, Fenced = true, Up = false }, ReportAction.Rejoin },
        { "former primary stranded replica", Replica with { FormerPrimary = true, StrandedReplica = true }, ReportAction.Rejoin },
        { "former primary streaming replica", Replica with { FormerPrimary = true }, ReportAction.None },
        { "former primary, rejoin not due yet", Replica with { FormerPrimary = true, ReportsPrimary = true, RejoinDue = false }, ReportAction.None },
        { "former primary, no primary up to rejoin", Replica with { FormerPrimary = true, ReportsPrimary = true, PublishedPrimaryUp = false }, ReportAction.None },
        { "former primary, role change under way", Replica with { FormerPrimary = true, ReportsPrimary = true, ChangeInProgress = true }, ReportAction.None },

        // Other replicas are watched for streaming from the published primary (repointed once stranded long enough).
        { "replica", Replica, ReportAction.WatchStranded },
        { "replica, stranded", Replica with { StrandedReplica = true }, ReportAction.WatchStranded },
        { "replica, down", Replica with { Up = false }, ReportAction.None },
        { "replica, promotion pending", Replica with { PromotionPending = true }, ReportAction.None },
        { "replica, role change under way", Replica with { ChangeInProgress = true }, ReportAction.None },
        { "replica, published primary not up", Replica with { PublishedPrimaryUp = false }, ReportAction.None },
        { "a second node claiming primary, not former, not pending", Replica with { ReportsPrimary = true }, ReportAction.None },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Decide(string because, ReportFacts facts, ReportAction expected) =>
        Assert.True(expected == ReportPolicy.Decide(facts), $"{because}: expected {expected}, got {ReportPolicy.Decide(facts)}");
}
