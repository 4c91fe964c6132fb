using System.Globalization;
using Microsoft.Extensions.Options;

namespace Fleet.Aggregator.Health;

/// <summary>
/// Checks every rule and reports all problems at once, each naming its key
/// (e.g. "Alerts:replication_lag_warning:Threshold must be positive (got -1)").
/// </summary>
internal sealed class AlertsOptionsValidator : IValidateOptions<AlertsOptions>
{
    public ValidateOptionsResult Validate(string? name, AlertsOptions options)
    {
        var errors = Collect(options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    internal static List<string> Collect(AlertsOptions options)
    {
        var errors = new List<string>(options.BindingErrors);
        foreach (var (ruleName, rule) in options.Rules)
        {
            var key = $"{AlertsOptions.SectionName}:{ruleName}";
            var entry = AlertRuleCatalog.Find(ruleName);
            if (entry is null)
            {
                errors.Add($"{key} is not a known rule; known rules: {string.Join(", ", AlertRuleCatalog.Entries.Select(e => e.Name))}.");
                continue;
            }

            if (rule is null)
            {
                continue;
            }

            CheckRule(key, entry, rule, errors);
        }

        foreach (var (warning, critical, lowerIsWorse) in AlertRuleCatalog.EscalationPairs)
        {
            if (options.Rules.TryGetValue(warning, out var w) && options.Rules.TryGetValue(critical, out var c)
                && w is { Enabled: true, Threshold: { } wt } && c is { Enabled: true, Threshold: { } ct }
                && (lowerIsWorse ? wt <= ct : wt >= ct))
            {
                var relation = lowerIsWorse ? "above" : "below";
                errors.Add(Invariant(
                    $"{AlertsOptions.SectionName}:{warning}:Threshold ({wt}) must be {relation} {AlertsOptions.SectionName}:{critical}:Threshold ({ct}), or the warning can never come first."));
            }
        }

        return errors;
    }

    private static void CheckRule(string key, AlertRuleCatalog.Entry entry, AlertRuleOptions rule, List<string> errors)
    {
        if (!AlertRuleCatalog.TryParseSeverity(rule.Severity, out _))
        {
            errors.Add($"{key}:Severity must be 'warning' or 'critical' (got '{rule.Severity}').");
        }

        if (rule.For < TimeSpan.Zero)
        {
            errors.Add($"{key}:For must not be negative (got {rule.For}).");
        }
        else if (rule.For > TimeSpan.FromDays(7))
        {
            errors.Add($"{key}:For must be at most 7 days (got {rule.For}).");
        }

        CheckThreshold(key, entry, rule.Threshold, errors);

        if (entry.UsesMinTableBytes)
        {
            if (rule.MinTableBytes is < 0)
            {
                errors.Add(Invariant($"{key}:MinTableBytes must not be negative (got {rule.MinTableBytes})."));
            }
        }
        else if (rule.MinTableBytes is not null)
        {
            errors.Add($"{key}:MinTableBytes applies only to dead_tuples_high and table_bloat_high; remove it.");
        }
    }

    private static void CheckThreshold(string key, AlertRuleCatalog.Entry entry, double? threshold, List<string> errors)
    {
        if (entry.Unit is RuleUnit.None or RuleUnit.Count)
        {
            if (threshold is not null)
            {
                errors.Add($"{key}:Threshold is not used by this rule (it tests a state); remove it.");
            }

            return;
        }

        if (threshold is not { } t)
        {
            errors.Add($"{key}:Threshold is required.");
            return;
        }

        if (!double.IsFinite(t))
        {
            errors.Add($"{key}:Threshold must be a finite number (got {t.ToString(CultureInfo.InvariantCulture)}).");
            return;
        }

        var problem = entry.Unit switch
        {
            RuleUnit.Seconds when t <= 0 => "must be positive (seconds)",
            RuleUnit.Percent when t is <= 0 or > 100 => "must be a percentage above 0 and at most 100",
            RuleUnit.PerHour when t < 0 => "must not be negative (events per hour)",
            _ => null,
        };
        if (problem is not null)
        {
            errors.Add(Invariant($"{key}:Threshold {problem} (got {t})."));
        }
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
