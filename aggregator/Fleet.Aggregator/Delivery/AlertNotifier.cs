using System.Net.Http.Headers;
using Fleet.Aggregator.Configuration;
using Fleet.Aggregator.Monitoring;
using Fleet.Protos.V1;
using Microsoft.Extensions.Options;

namespace Fleet.Aggregator.Delivery;

/// <summary>
/// Sends firing and recently resolved alerts to every configured Alertmanager and webhook: at once when the set
/// changes, and every <see cref="AlertDeliveryOptions.ResendInterval"/> while anything fires, as Alertmanager
/// expects. Each target is independent: one that fails is tried again after 1, 2, 4 … 60 s, and is sent the
/// current set when it answers again, so nothing is lost while it is away; after a restart the restored alerts
/// are sent. Every aggregator of a region sends (Alertmanager deduplicates by labels), so delivery does not wait
/// for a leader.
/// </summary>
internal sealed class AlertNotifier(
    AlertBook alerts,
    IOptions<AlertDeliveryOptions> options,
    IOptions<AggregatorOptions> aggregator,
    TimeProvider time,
    ILogger<AlertNotifier> logger) : BackgroundService
{
    private static readonly TimeSpan Tick = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(60);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var targets = settings.Endpoints.Select(e => new Target(new Uri(e.TrimEnd('/') + "/api/v2/alerts"), webhook: false))
            .Concat(settings.Webhooks.Select(w => new Target(new Uri(w), webhook: true))).ToList();
        if (targets.Count == 0)
        {
            return;
        }

        using var http = new HttpClient { Timeout = settings.Timeout };
        using var timer = new PeriodicTimer(Tick, time);
        do
        {
            var now = time.GetUtcNow();
            var current = Select(alerts.Tracker.GetActiveAlerts(), alerts.Tracker.GetRecentlyResolved(), now, settings.ResolvedFor);
            var fingerprint = string.Join('\n', current.Select(a => $"{a.Id}:{a.State}"));
            foreach (var target in targets)
            {
                if (target.Due(fingerprint, now, settings.ResendInterval))
                {
                    await SendAsync(http, target, current, fingerprint, now, settings, stoppingToken);
                }
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>What is sent: firing alerts, and alerts resolved from firing within <paramref name="resolvedFor"/>. Pure.</summary>
    internal static List<Alert> Select(IReadOnlyList<Alert> active, IReadOnlyList<Alert> resolved, DateTimeOffset now, TimeSpan resolvedFor) =>
        [.. active.Where(a => a.State == AlertState.Firing),
            .. resolved.Where(a => a.FiringSince is not null && a.ResolvedAt is not null && now - a.ResolvedAt.ToDateTimeOffset() <= resolvedFor)];

    private async Task SendAsync(HttpClient http, Target target, List<Alert> current, string fingerprint, DateTimeOffset now, AlertDeliveryOptions settings, CancellationToken cancellationToken)
    {
        var region = aggregator.Value.Region;
        var body = target.Webhook ? AlertPayload.Webhook(current, region, now, settings) : AlertPayload.AlertmanagerV2(current, region, now, settings);
        string? failure;
        try
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await http.PostAsync(target.Url, content, cancellationToken);
            failure = response.IsSuccessStatusCode ? null : $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}";
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            failure = ex.Message;
        }

        if (failure is null)
        {
            if (target.Failures > 0)
            {
                DeliveryLog.Recovered(logger, target.Url.ToString(), target.Failures);
            }

            target.Sent(fingerprint, now);
            return;
        }

        target.Failed(now, MaxBackoff);
        DeliveryLog.Failed(logger, target.Url.ToString(), current.Count, target.Failures, failure);
    }

    /// <summary>One Alertmanager or webhook: what it was last sent, and when to try it again after a failure.</summary>
    private sealed class Target(Uri url, bool webhook)
    {
        private string? _sentFingerprint;
        private DateTimeOffset _sentAt;
        private DateTimeOffset _retryAt;

        public Uri Url { get; } = url;

        public bool Webhook { get; } = webhook;

        public int Failures { get; private set; }

        public bool Due(string fingerprint, DateTimeOffset now, TimeSpan resend)
        {
            if (now < _retryAt)
            {
                return false;
            }

            if (fingerprint != _sentFingerprint)
            {
                // Nothing was ever sent and nothing fires: nothing to say.
                return _sentFingerprint is not null || fingerprint.Length > 0;
            }

            return fingerprint.Length > 0 && now - _sentAt >= resend;
        }

        public void Sent(string fingerprint, DateTimeOffset now) => (_sentFingerprint, _sentAt, Failures, _retryAt) = (fingerprint, now, 0, now);

        public void Failed(DateTimeOffset now, TimeSpan maxBackoff)
        {
            Failures++;
            var backoff = TimeSpan.FromSeconds(Math.Min(Math.Pow(2, Failures - 1), maxBackoff.TotalSeconds));
            _retryAt = now + backoff;
        }
    }
}

/// <summary>Log messages of alert delivery (event IDs 4020-4029).</summary>
internal static partial class DeliveryLog
{
    [LoggerMessage(EventId = 4020, EventName = "AlertDeliveryFailed", Level = LogLevel.Warning,
        Message = "Could not deliver {Count} alerts to {Target} (failure {Failures} in a row): {Reason}; trying again with backoff")]
    public static partial void Failed(ILogger logger, string target, int count, int failures, string reason);

    [LoggerMessage(EventId = 4021, EventName = "AlertDeliveryRecovered", Level = LogLevel.Information,
        Message = "Alerts delivered to {Target} again after {Failures} failures")]
    public static partial void Recovered(ILogger logger, string target, int failures);
}
