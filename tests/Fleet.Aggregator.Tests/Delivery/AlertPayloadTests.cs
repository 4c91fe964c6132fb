using System.Text.Json;
using Fleet.Aggregator.Delivery;
using Fleet.Protos.V1;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Time.Testing;

namespace Fleet.Aggregator.Tests.Delivery;

/// <summary>What Alertmanager is sent: labels, annotations and times, and which alerts (pure).</summary>
public sealed class AlertPayloadTests
{
    private static readonly FakeTimeProvider Time = new(new DateTimeOffset(2026, 12, 7, 12, 0, 0, TimeSpan.Zero));

    [Theory]
    [InlineData("replication_lag_warning/orders/db-1/db-2/30064771075", "db-2")]
    [InlineData("cpu_high/orders/db-1/7", "")]
    [InlineData("someone-elses-id", "")]
    public void Subject_IsTheIdBetweenNodeAndSequence(string id, string subject) =>
        Assert.Equal(subject, AlertPayload.Subject(new Alert { Id = id, Rule = id.Split('/')[0], Cluster = "orders", Node = "db-1" }));

    [Fact]
    public void Firing_EndsFourResendsAhead_Resolved_EndsWhenItResolved_WithLabelsAndAnnotations()
    {
        var now = Time.GetUtcNow();
        var options = new AlertDeliveryOptions { ResendInterval = TimeSpan.FromMinutes(1), ExternalUrl = "https://fleet.example/" };
        var firing = new Alert
        {
            Id = "replication_lag_warning/orders/db-1/db-2/5", Rule = "replication_lag_warning", Severity = Severity.Warning, State = AlertState.Firing,
            Cluster = "orders", Node = "db-1", Value = 12, Threshold = 5, Unit = "seconds", Message = "standby db-2 replay lag 12 s > 5 s",
            PendingSince = Timestamp.FromDateTimeOffset(now.AddMinutes(-3)), FiringSince = Timestamp.FromDateTimeOffset(now.AddMinutes(-1)),
        };
        var resolved = firing.Clone();
        resolved.State = AlertState.Resolved;
        resolved.ResolvedAt = Timestamp.FromDateTimeOffset(now.AddSeconds(-10));

        using var document = JsonDocument.Parse(AlertPayload.AlertmanagerV2([firing, resolved], "kr-central", now, options));
        var (first, second) = (document.RootElement[0], document.RootElement[1]);
        var labels = first.GetProperty("labels");
        Assert.Equal(["alertname", "severity", "region", "cluster", "node", "source", "subject"], labels.EnumerateObject().Select(p => p.Name));
        Assert.Equal("db-2", labels.GetProperty("subject").GetString());
        Assert.Equal("kr-central", labels.GetProperty("region").GetString());
        Assert.Equal("12 seconds", first.GetProperty("annotations").GetProperty("value").GetString());
        Assert.Equal("5 seconds", first.GetProperty("annotations").GetProperty("threshold").GetString());
        Assert.Equal(now.AddMinutes(-1), first.GetProperty("startsAt").GetDateTimeOffset());
        Assert.Equal(now.AddMinutes(4), first.GetProperty("endsAt").GetDateTimeOffset());
        Assert.Equal(now.AddSeconds(-10), second.GetProperty("endsAt").GetDateTimeOffset());
        Assert.Equal("https://fleet.example/", second.GetProperty("generatorURL").GetString());
    }

    [Fact]
    public void Select_FiringAndRecentlyResolvedFromFiring_NotPendingNorOldNorNeverFired()
    {
        var now = Time.GetUtcNow();
        Alert Make(string id, AlertState state, bool fired, int resolvedSecondsAgo = 0) => new()
        {
            Id = id, State = state,
            FiringSince = fired ? Timestamp.FromDateTimeOffset(now.AddMinutes(-30)) : null,
            ResolvedAt = state == AlertState.Resolved ? Timestamp.FromDateTimeOffset(now.AddSeconds(-resolvedSecondsAgo)) : null,
        };

        var selected = AlertNotifierSelect([Make("firing", AlertState.Firing, true), Make("pending", AlertState.Pending, false)],
            [Make("recent", AlertState.Resolved, true, 60), Make("old", AlertState.Resolved, true, 3600), Make("never-fired", AlertState.Resolved, false, 60)], now);
        Assert.Equal(["firing", "recent"], selected.Select(a => a.Id));
    }

    private static List<Alert> AlertNotifierSelect(IReadOnlyList<Alert> active, IReadOnlyList<Alert> resolved, DateTimeOffset now) =>
        AlertNotifier.Select(active, resolved, now, TimeSpan.FromMinutes(15));
}
