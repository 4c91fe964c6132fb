using System.Globalization;

namespace Fleet.Aggregator.Health;

/// <summary>
/// Reads the Alerts section over the defaults field by field, so that every unknown field and
/// unparsable value is reported (by <see cref="AlertsOptionsValidator"/>) together with the other
/// errors, each with its full key, instead of the first one aborting the bind.
/// </summary>
internal static class AlertsOptionsBinder
{
    private const string Fields = "Enabled, Severity, Threshold, For, MinTableBytes";

    public static void Bind(IConfiguration section, AlertsOptions options)
    {
        foreach (var ruleSection in section.GetChildren())
        {
            var key = $"{AlertsOptions.SectionName}:{ruleSection.Key}";
            if (ruleSection.Value is not null && !ruleSection.GetChildren().Any())
            {
                options.BindingErrors.Add($"{key} must be an object with the fields {Fields} (got '{ruleSection.Value}').");
                continue;
            }

            if (!options.Rules.TryGetValue(ruleSection.Key, out var rule))
            {
                rule = new AlertRuleOptions();
                options.Rules[ruleSection.Key] = rule;
            }

            foreach (var field in ruleSection.GetChildren())
            {
                BindField($"{key}:{field.Key}", field.Key, field.Value ?? string.Empty, rule, options.BindingErrors);
            }
        }
    }

    private static void BindField(string key, string name, string value, AlertRuleOptions rule, List<string> errors)
    {
        switch (name.ToUpperInvariant())
        {
            case "ENABLED":
                if (bool.TryParse(value, out var enabled))
                {
                    rule.Enabled = enabled;
                }
                else
                {
                    errors.Add($"{key} must be true or false (got '{value}').");
                }

                break;
            case "SEVERITY":
                rule.Severity = value;
                break;
            case "THRESHOLD":
                if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var threshold))
                {
                    rule.Threshold = threshold;
                }
                else
                {
                    errors.Add($"{key} must be a number (got '{value}').");
                }

                break;
            case "FOR":
                // "5" would parse as five days: insist on the hh:mm:ss form.
                if (value.Contains(':', StringComparison.Ordinal) && TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out var holdFor))
                {
                    rule.For = holdFor;
                }
                else
                {
                    errors.Add($"{key} must be a duration like 00:02:00 (got '{value}').");
                }

                break;
            case "MINTABLEBYTES":
                if (long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var bytes))
                {
                    rule.MinTableBytes = bytes;
                }
                else
                {
                    errors.Add($"{key} must be a whole number of bytes (got '{value}').");
                }

                break;
            default:
                errors.Add($"{key} is not a known field; rule fields are {Fields}.");
                break;
        }
    }
}
