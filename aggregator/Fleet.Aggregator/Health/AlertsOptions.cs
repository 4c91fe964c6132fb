namespace Fleet.Aggregator.Health;

/// <summary>
/// The alert rules, bound from the configuration section <c>Alerts</c>: one entry per rule name
/// (<c>Alerts:&lt;rule&gt;:&lt;field&gt;</c>, e.g. <c>FLEET_AGGREGATOR_Alerts__replication_lag_warning__Threshold=10</c>).
/// Every default rule is present before binding, so configuration only overrides the fields it names.
/// docs/alerts.md lists the rules and their defaults.
/// </summary>
public sealed class AlertsOptions
{
    public const string SectionName = "Alerts";

    /// <summary>Rule name (case-insensitive) to its settings; starts with every default rule.</summary>
    public Dictionary<string, AlertRuleOptions> Rules { get; } = AlertRuleCatalog.CreateDefaultOptions();

    /// <summary>Problems met while reading the section (unknown fields, unparsable values); reported by validation.</summary>
    internal List<string> BindingErrors { get; } = [];
}

/// <summary>Settings of one alert rule.</summary>
public sealed class AlertRuleOptions
{
    /// <summary>Whether the rule is evaluated at all.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>"warning" or "critical".</summary>
    public string? Severity { get; set; }

    /// <summary>
    /// The value compared with the observation, in the rule's unit (seconds, percent, per hour).
    /// Rules that only test a state (e.g. postgres_down) take none.
    /// </summary>
    public double? Threshold { get; set; }

    /// <summary>How long the condition must hold before the alert fires (e.g. "00:02:00"); 0 fires at once.</summary>
    public TimeSpan For { get; set; }

    /// <summary>dead_tuples_high and table_bloat_high only: tables smaller than this many bytes are ignored.</summary>
    public long? MinTableBytes { get; set; }
}
