using Fleet.Protos.V1;

namespace Fleet.Aggregator.Health;

/// <summary>Unit of a rule's observed value and threshold; also decides which thresholds are valid.</summary>
public enum RuleUnit
{
    /// <summary>The rule tests a state and has no threshold.</summary>
    None,

    /// <summary>Seconds; the threshold must be positive.</summary>
    Seconds,

    /// <summary>Percent, 0..100; the threshold must be in (0, 100].</summary>
    Percent,

    /// <summary>Events per hour; the threshold must not be negative.</summary>
    PerHour,

    /// <summary>A plain count shown with a state rule (no threshold).</summary>
    Count,
}

/// <summary>One enabled rule's effective settings (defaults merged with configuration).</summary>
public sealed record AlertRuleDefinition(
    string Name,
    Severity Severity,
    double? Threshold,
    TimeSpan For,
    RuleUnit Unit,
    long? MinTableBytes = null)
{
    /// <summary>The unit as Alert.unit spells it.</summary>
    public string UnitName => Unit switch
    {
        RuleUnit.Seconds => "seconds",
        RuleUnit.Percent => "percent",
        RuleUnit.PerHour => "per_hour",
        RuleUnit.Count => "count",
        _ => string.Empty,
    };
}
