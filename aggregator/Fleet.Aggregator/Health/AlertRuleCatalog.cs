using Fleet.Aggregator.Health.Rules;
using Fleet.Protos.V1;

namespace Fleet.Aggregator.Health;

/// <summary>
/// The default rules: name, severity, threshold, hold duration, and the class that evaluates them.
/// Thresholds come from DESIGN.md ("Metrics and health"); docs/alerts.md explains each one.
/// </summary>
internal static class AlertRuleCatalog
{
    internal const long DefaultMinTableBytes = 100L * 1024 * 1024;

    internal sealed record Entry(
        string Name,
        Severity Severity,
        double? Threshold,
        TimeSpan For,
        RuleUnit Unit,
        Func<AlertRuleDefinition, HealthRule> Create,
        bool UsesMinTableBytes = false);

    private static TimeSpan Seconds(int s) => TimeSpan.FromSeconds(s);

    private static TimeSpan Minutes(int m) => TimeSpan.FromMinutes(m);

    /// <summary>All known rules, in evaluation (and documentation) order.</summary>
    internal static IReadOnlyList<Entry> Entries { get; } =
    [
        new("agent_silent", Severity.Critical, 15, TimeSpan.Zero, RuleUnit.Seconds, d => new AgentSilentRule(d)),
        new("split_brain", Severity.Critical, null, TimeSpan.Zero, RuleUnit.None, d => new SplitBrainRule(d)),
        new("postgres_down", Severity.Critical, null, Seconds(30), RuleUnit.None, d => new PostgresDownRule(d)),
        new("failure_detection_slow", Severity.Warning, null, Minutes(1), RuleUnit.None, d => new FailureDetectionSlowRule(d)),
        new("replica_not_streaming", Severity.Critical, null, Minutes(1), RuleUnit.None, d => new ReplicaNotStreamingRule(d)),
        new("replication_lag_warning", Severity.Warning, 5, Minutes(2), RuleUnit.Seconds, d => new ReplicationLagRule(d)),
        new("replication_lag_critical", Severity.Critical, 300, Minutes(2), RuleUnit.Seconds, d => new ReplicationLagRule(d)),
        new("connections_high", Severity.Warning, 80, Minutes(5), RuleUnit.Percent, d => new ConnectionsRule(d)),
        new("buffer_hit_ratio_warning", Severity.Warning, 95, Minutes(10), RuleUnit.Percent, d => new BufferHitRatioRule(d)),
        new("buffer_hit_ratio_critical", Severity.Critical, 90, Minutes(10), RuleUnit.Percent, d => new BufferHitRatioRule(d)),
        new("dead_tuples_high", Severity.Warning, 10, Minutes(60), RuleUnit.Percent, d => new DeadTuplesRule(d), UsesMinTableBytes: true),
        new("table_bloat_high", Severity.Warning, 25, Minutes(60), RuleUnit.Percent, d => new TableBloatRule(d), UsesMinTableBytes: true),
        new("deadlocks_high", Severity.Warning, 5, TimeSpan.Zero, RuleUnit.PerHour, d => new DeadlocksRule(d)),
        new("long_transaction", Severity.Warning, 3600, TimeSpan.Zero, RuleUnit.Seconds, d => new SessionAgeRule(d, idleOnly: false)),
        new("idle_in_transaction_long", Severity.Warning, 1800, TimeSpan.Zero, RuleUnit.Seconds, d => new SessionAgeRule(d, idleOnly: true)),
        new("checksum_failure", Severity.Critical, 86400, TimeSpan.Zero, RuleUnit.Seconds, d => new ChecksumFailureRule(d)),
        new("wraparound_risk", Severity.Warning, 50, TimeSpan.Zero, RuleUnit.Percent, d => new WraparoundRule(d)),
        new("synchronous_standby_missing", Severity.Critical, null, Seconds(30), RuleUnit.None, d => new SynchronousStandbyMissingRule(d)),
        new("replication_slot_inactive", Severity.Warning, null, Minutes(10), RuleUnit.None, d => new ReplicationSlotRule(d, lostOnly: false)),
        new("replication_slot_lost", Severity.Critical, null, TimeSpan.Zero, RuleUnit.None, d => new ReplicationSlotRule(d, lostOnly: true)),
        new("archive_failing", Severity.Warning, null, Minutes(2), RuleUnit.None, d => new ArchiveFailingRule(d)),
        new("archive_settings", Severity.Warning, 60, TimeSpan.Zero, RuleUnit.Seconds, d => new ArchiveSettingsRule(d)),
        new("rpo_exposure_high", Severity.Critical, 300, TimeSpan.Zero, RuleUnit.Seconds, d => new RpoExposureRule(d)),
        new("archive_verification_failure", Severity.Critical, null, TimeSpan.Zero, RuleUnit.None, d => new ArchiveVerdictRule(d, ArchiveVerdict.Failure)),
        new("archive_verification_warning", Severity.Warning, null, TimeSpan.Zero, RuleUnit.None, d => new ArchiveVerdictRule(d, ArchiveVerdict.Warning)),
        new("archive_out_of_region", Severity.Critical, null, TimeSpan.Zero, RuleUnit.None, d => new ArchiveOutOfRegionRule(d)),
        new("cpu_high", Severity.Warning, 80, Minutes(5), RuleUnit.Percent, d => new CpuRule(d)),
        new("memory_high", Severity.Warning, 85, Minutes(5), RuleUnit.Percent, d => new MemoryRule(d)),
        new("disk_usage_warning", Severity.Warning, 75, Minutes(5), RuleUnit.Percent, d => new DiskRule(d)),
        new("disk_usage_critical", Severity.Critical, 90, Minutes(2), RuleUnit.Percent, d => new DiskRule(d)),
    ];

    /// <summary>Pairs whose thresholds must be ordered when both are enabled: (warning, critical, lower is worse).</summary>
    internal static IReadOnlyList<(string Warning, string Critical, bool LowerIsWorse)> EscalationPairs { get; } =
    [
        ("replication_lag_warning", "replication_lag_critical", false),
        ("buffer_hit_ratio_warning", "buffer_hit_ratio_critical", true),
        ("disk_usage_warning", "disk_usage_critical", false),
    ];

    internal static Entry? Find(string name)
    {
        foreach (var entry in Entries)
        {
            if (string.Equals(entry.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return entry;
            }
        }

        return null;
    }

    internal static Dictionary<string, AlertRuleOptions> CreateDefaultOptions()
    {
        var rules = new Dictionary<string, AlertRuleOptions>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in Entries)
        {
            rules[entry.Name] = new AlertRuleOptions
            {
                Enabled = true,
                Severity = SeverityName(entry.Severity),
                Threshold = entry.Threshold,
                For = entry.For,
                MinTableBytes = entry.UsesMinTableBytes ? DefaultMinTableBytes : null,
            };
        }

        return rules;
    }

    internal static string SeverityName(Severity severity) => severity switch
    {
        Severity.Critical => "critical",
        Severity.Warning => "warning",
        Severity.Info => "info",
        _ => "unspecified",
    };

    /// <summary>Parses "warning" or "critical" (any case).</summary>
    internal static bool TryParseSeverity(string? text, out Severity severity)
    {
        if (string.Equals(text, "warning", StringComparison.OrdinalIgnoreCase))
        {
            severity = Severity.Warning;
            return true;
        }

        if (string.Equals(text, "critical", StringComparison.OrdinalIgnoreCase))
        {
            severity = Severity.Critical;
            return true;
        }

        severity = Severity.Unspecified;
        return false;
    }
}
