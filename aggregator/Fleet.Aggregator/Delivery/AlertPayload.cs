using System.Text.Json;
using Fleet.Aggregator.Health;
using Fleet.Protos.V1;

namespace Fleet.Aggregator.Delivery;

/// <summary>
/// Alerts as Alertmanager's v2 API takes them (<c>POST /api/v2/alerts</c>: an array of labels, annotations,
/// startsAt, endsAt, generatorURL). Pure. A firing alert's endsAt lies four resend intervals ahead, so
/// Alertmanager resolves it by itself if the aggregator stops sending; a resolved one carries its resolution time.
/// </summary>
public static class AlertPayload
{
    public static byte[] AlertmanagerV2(IEnumerable<Alert> alerts, string region, DateTimeOffset now, AlertDeliveryOptions options)
    {
        ArgumentNullException.ThrowIfNull(alerts);
        ArgumentNullException.ThrowIfNull(options);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (var alert in alerts)
            {
                WriteAlert(json, alert, region, now, options);
            }

            json.WriteEndArray();
        }

        return buffer.ToArray();
    }

    /// <summary>The plain webhook document: <c>{"version":"fleet/1","region":…,"alerts":[…]}</c>, each alert as for Alertmanager plus its state.</summary>
    public static byte[] Webhook(IEnumerable<Alert> alerts, string region, DateTimeOffset now, AlertDeliveryOptions options)
    {
        ArgumentNullException.ThrowIfNull(alerts);
        ArgumentNullException.ThrowIfNull(options);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("version", "fleet/1");
            json.WriteString("region", region);
            json.WriteStartArray("alerts");
            foreach (var alert in alerts)
            {
                WriteAlert(json, alert, region, now, options, withStatus: true);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>What tells one alert from another to Alertmanager: the rule, where, and (for per-standby rules) what.</summary>
    public static IReadOnlyList<(string Name, string Value)> Labels(Alert alert, string region)
    {
        ArgumentNullException.ThrowIfNull(alert);
        var labels = new List<(string, string)>
        {
            ("alertname", alert.Rule),
            ("severity", alert.Severity switch { Severity.Critical => "critical", Severity.Warning => "warning", _ => "info" }),
            ("region", region),
            ("cluster", alert.Cluster),
            ("node", alert.Node),
            ("source", "fleet"),
        };
        if (Subject(alert) is { Length: > 0 } subject)
        {
            labels.Add(("subject", subject));
        }

        return labels;
    }

    /// <summary>The part of the alert id between "rule/cluster/node/" and the trailing sequence: e.g. the standby of a lag alert.</summary>
    public static string Subject(Alert alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        return AlertTracker.TryParseId(alert, out var subject, out _) ? subject : string.Empty;
    }

    private static void WriteAlert(Utf8JsonWriter json, Alert alert, string region, DateTimeOffset now, AlertDeliveryOptions options, bool withStatus = false)
    {
        json.WriteStartObject();
        if (withStatus)
        {
            json.WriteString("status", alert.State == AlertState.Resolved ? "resolved" : "firing");
            json.WriteString("id", alert.Id);
        }

        json.WriteStartObject("labels");
        foreach (var (name, value) in Labels(alert, region))
        {
            json.WriteString(name, value);
        }

        json.WriteEndObject();
        json.WriteStartObject("annotations");
        json.WriteString("summary", $"{alert.Rule} on {alert.Cluster}/{alert.Node}");
        json.WriteString("description", alert.Message);
        if (alert.HasValue)
        {
            json.WriteString("value", Format(alert.Value, alert.Unit));
        }

        if (alert.HasThreshold)
        {
            json.WriteString("threshold", Format(alert.Threshold, alert.Unit));
        }

        json.WriteString("runbook_url", $"{options.RunbookBaseUrl}#{alert.Rule}");
        json.WriteEndObject();
        var startsAt = alert.FiringSince?.ToDateTimeOffset() ?? alert.PendingSince?.ToDateTimeOffset() ?? now;
        json.WriteString("startsAt", startsAt);
        var endsAt = alert.State == AlertState.Resolved ? alert.ResolvedAt?.ToDateTimeOffset() ?? now : now + (4 * options.ResendInterval);
        json.WriteString("endsAt", endsAt);
        if (!string.IsNullOrEmpty(options.ExternalUrl))
        {
            json.WriteString("generatorURL", options.ExternalUrl);
        }

        json.WriteEndObject();
    }

    private static string Format(double value, string unit) =>
        string.IsNullOrEmpty(unit) ? value.ToString("G6", System.Globalization.CultureInfo.InvariantCulture) : $"{value.ToString("G6", System.Globalization.CultureInfo.InvariantCulture)} {unit}";
}
