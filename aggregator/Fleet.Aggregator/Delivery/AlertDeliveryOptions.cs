using Microsoft.Extensions.Options;

namespace Fleet.Aggregator.Delivery;

/// <summary>Where firing and resolved alerts are sent, bound from the "Alertmanager" section. Empty: nowhere.</summary>
public sealed class AlertDeliveryOptions
{
    public const string SectionName = "Alertmanager";

    /// <summary>Base URLs of Prometheus Alertmanagers (an HA pair: list both); alerts are posted to <c>/api/v2/alerts</c> of each.</summary>
    public List<string> Endpoints { get; set; } = [];

    /// <summary>Plain webhook URLs: the same alerts posted as one JSON document (<c>{"version":"fleet/1","alerts":[…]}</c>).</summary>
    public List<string> Webhooks { get; set; } = [];

    /// <summary>Firing alerts are sent again this often (Alertmanager resolves an alert not re-sent before its endsAt).</summary>
    public TimeSpan ResendInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>A resolved alert is sent again with each round for this long, so a receiver that missed it learns it.</summary>
    public TimeSpan ResolvedFor { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How long one POST may take.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Link to the rule's runbook: this base plus "#" and the rule name (docs/alerts.md where your copy of the docs lives).</summary>
    public string RunbookBaseUrl { get; set; } = "docs/alerts.md";

    /// <summary>The aggregator's own URL (its dashboard) for Alertmanager's generatorURL; empty leaves it out.</summary>
    public string? ExternalUrl { get; set; }
}

/// <summary>Checks the Alertmanager section at start-up, naming each bad key.</summary>
internal sealed class AlertDeliveryOptionsValidator : IValidateOptions<AlertDeliveryOptions>
{
    public ValidateOptionsResult Validate(string? name, AlertDeliveryOptions options)
    {
        var errors = new List<string>();
        const string Section = AlertDeliveryOptions.SectionName;
        for (var i = 0; i < options.Endpoints.Count; i++)
        {
            if (!IsHttpUrl(options.Endpoints[i]))
            {
                errors.Add($"{Section}:Endpoints:{i} must be an http:// or https:// URL of an Alertmanager (got '{options.Endpoints[i]}').");
            }
        }

        for (var i = 0; i < options.Webhooks.Count; i++)
        {
            if (!IsHttpUrl(options.Webhooks[i]))
            {
                errors.Add($"{Section}:Webhooks:{i} must be an http:// or https:// URL (got '{options.Webhooks[i]}').");
            }
        }

        if (options.ResendInterval < TimeSpan.FromSeconds(1) || options.ResendInterval > TimeSpan.FromHours(1))
        {
            errors.Add($"{Section}:ResendInterval must be between 00:00:01 and 01:00:00 (got {options.ResendInterval}).");
        }

        if (options.ResolvedFor < TimeSpan.Zero || options.ResolvedFor > TimeSpan.FromDays(1))
        {
            errors.Add($"{Section}:ResolvedFor must be between 00:00:00 and 1.00:00:00 (got {options.ResolvedFor}).");
        }

        if (options.Timeout < TimeSpan.FromMilliseconds(100) || options.Timeout > TimeSpan.FromMinutes(1))
        {
            errors.Add($"{Section}:Timeout must be between 00:00:00.1 and 00:01:00 (got {options.Timeout}).");
        }

        if (!string.IsNullOrEmpty(options.ExternalUrl) && !IsHttpUrl(options.ExternalUrl))
        {
            errors.Add($"{Section}:ExternalUrl must be an http:// or https:// URL (got '{options.ExternalUrl}').");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static bool IsHttpUrl(string? value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);
}
