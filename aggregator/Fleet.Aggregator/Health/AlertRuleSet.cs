namespace Fleet.Aggregator.Health;

/// <summary>
/// The enabled rules built from validated <see cref="AlertsOptions"/>, in catalog order. Immutable;
/// rule instances are shared by every evaluation.
/// </summary>
public sealed class AlertRuleSet
{
    private readonly HealthRule[] _rules;

    private AlertRuleSet(HealthRule[] rules)
    {
        _rules = rules;
    }

    /// <summary>Every default rule with its default settings.</summary>
    public static AlertRuleSet Default { get; } = Create(new AlertsOptions());

    public IReadOnlyList<HealthRule> Rules => _rules;

    internal HealthRule[] RuleArray => _rules;

    /// <summary>Builds the enabled rules; throws if the options did not pass <c>AlertsOptionsValidator</c>.</summary>
    public static AlertRuleSet Create(AlertsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = AlertsOptionsValidator.Collect(options);
        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid alert rules: " + string.Join(" ", errors), nameof(options));
        }

        var rules = new List<HealthRule>();
        foreach (var entry in AlertRuleCatalog.Entries)
        {
            if (!options.Rules.TryGetValue(entry.Name, out var rule) || !rule.Enabled)
            {
                continue;
            }

            AlertRuleCatalog.TryParseSeverity(rule.Severity, out var severity);
            var definition = new AlertRuleDefinition(
                entry.Name, severity, rule.Threshold, rule.For, entry.Unit, entry.UsesMinTableBytes ? rule.MinTableBytes : null);
            rules.Add(entry.Create(definition));
        }

        return new AlertRuleSet([.. rules]);
    }

    public HealthRule? Find(string name)
    {
        foreach (var rule in _rules)
        {
            if (string.Equals(rule.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return rule;
            }
        }

        return null;
    }
}
