using System.Threading.Channels;
using Fleet.EndToEnd.Tests.Infrastructure;
using Fleet.Protos.V1;
using Grpc.Core;
using Fleet.Testing;
using Fleet.Testing.Alertmanager;
using Google.Protobuf.WellKnownTypes;

namespace Fleet.EndToEnd.Tests;

/// <summary>A fleet of its own, delivering its alerts to a real Alertmanager: the test stops and restarts a replica's PostgreSQL.</summary>
public sealed class PostgresDownFleetFixture : FleetFixture, IAsyncLifetime
{
    public static readonly TimeSpan PostgresDownFor = TimeSpan.FromSeconds(2);

    // Its notifications go nowhere (port 9, discard): the test reads what it holds through its API.
    public AlertmanagerProcess Alertmanager { get; } = AlertmanagerProcess.Prepare(new Uri("http://127.0.0.1:9/"));

    public new async Task InitializeAsync()
    {
        await Alertmanager.StartAsync();
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Alertmanager.DisposeAsync();
    }

    protected override Dictionary<string, string?> AggregatorSettings() => new()
    {
        // docs/alerts.md: postgres_down, For 30 s by default.
        ["Alerts:postgres_down:For"] = "00:00:02",
        ["Link:StaleAfter"] = "00:00:10",
        ["Alertmanager:Endpoints:0"] = Alertmanager.Url.ToString(),
        ["Alertmanager:ResendInterval"] = "00:00:02",
    };
}

/// <summary>Stopping a replica's PostgreSQL raises postgres_down after its hold time; starting it again resolves it.</summary>
public sealed class PostgresDownAlertTests(PostgresDownFleetFixture fixture) : IClassFixture<PostgresDownFleetFixture>
{
    private const string Rule = "postgres_down";
    private const string Node = "node2";

    [Fact]
    public async Task ListAlerts_ReplicaPostgresStoppedThenStarted_PendingThenFiringThenResolved()
    {
        using var watchCts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        using var watch = fixture.Api.Watch(new WatchRequest { Cluster = FleetFixture.Cluster }, watchCts.Token);
        var changes = Channel.CreateUnbounded<Alert>();
        var initial = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reader = ReadAlertChangesAsync(watch, changes.Writer, initial, watchCts.Token);
        await initial.Task.WaitAsync(FleetFixture.ConditionTimeout);

        var replica = fixture.Fleet.Postgres.Replicas[1];
        Assert.Equal(Node, replica.Name);
        await replica.StopAsync().WaitAsync(TimeSpan.FromSeconds(60));
        var stoppedAt = DateTimeOffset.UtcNow;

        // Watch: PENDING first, then FIRING, for the same alert.
        var pending = await NextAsync(changes.Reader, a => a.Rule == Rule && a.Node == Node);
        Assert.Equal(AlertState.Pending, pending.State);
        Assert.Equal(Severity.Critical, pending.Severity);
        Assert.Equal(FleetFixture.Cluster, pending.Cluster);
        Assert.Equal(Duration.FromTimeSpan(PostgresDownFleetFixture.PostgresDownFor), pending.ForDuration);
        Assert.StartsWith($"{Rule}/{FleetFixture.Cluster}/{Node}/", pending.Id, StringComparison.Ordinal);
        // Down, or stopping if the agent looked during the shutdown.
        Assert.StartsWith("Postgres is ", pending.Message, StringComparison.Ordinal);
        Assert.Null(pending.FiringSince);

        // ListAlerts shows it as well; it can only have fired if the hold time has passed already.
        var listed = Assert.Single(
            (await fixture.Api.ListAlertsAsync(new ListAlertsRequest { Cluster = FleetFixture.Cluster, Node = Node }).DefaultTimeout()).Alerts,
            a => a.Rule == Rule);
        Assert.Equal(pending.Id, listed.Id);
        if (DateTimeOffset.UtcNow - pending.PendingSince.ToDateTimeOffset() < PostgresDownFleetFixture.PostgresDownFor)
        {
            Assert.Equal(AlertState.Pending, listed.State);
        }

        var firing = await NextAsync(changes.Reader, a => a.Id == pending.Id);
        Assert.Equal(AlertState.Firing, firing.State);
        var heldFor = firing.FiringSince.ToDateTimeOffset() - firing.PendingSince.ToDateTimeOffset();
        Assert.True(heldFor >= PostgresDownFleetFixture.PostgresDownFor, $"fired after {heldFor}, before its hold time");

        var active = await fixture.Api.ListAlertsAsync(new ListAlertsRequest { Cluster = FleetFixture.Cluster, State = AlertState.Firing }).DefaultTimeout();
        var listedFiring = Assert.Single(active.Alerts, a => a.Rule == Rule);
        Assert.Equal(pending.Id, listedFiring.Id);
        Assert.Equal(Node, listedFiring.Node);

        // The alert reached the Alertmanager, as a DBA on call would get it.
        var delivered = await Poll.UntilAsync(
            () => fixture.Alertmanager.AlertsAsync(),
            a => a.EnumerateArray().Any(IsThisAlert),
            FleetFixture.ConditionTimeout,
            "the Alertmanager to hold postgres_down for node2",
            a => a.ToString());
        var held = delivered.EnumerateArray().Single(IsThisAlert);
        Assert.Equal("critical", held.GetProperty("labels").GetProperty("severity").GetString());
        Assert.Equal(FleetFixture.Region, held.GetProperty("labels").GetProperty("region").GetString());
        Assert.Equal("active", held.GetProperty("status").GetProperty("state").GetString());

        // The node shows the outage; the primary no longer has node2 as a standby.
        var down = await Poll.UntilAsync(
            () => fixture.Api.GetNodeAsync(FleetFixture.Cluster, Node),
            n => n.PostgresState == PostgresState.Down,
            FleetFixture.ConditionTimeout,
            "node2 to report Postgres DOWN",
            n => n.PostgresState.ToString());
        Assert.Equal(AgentPresence.Connected, down.Presence);
        Assert.Equal(HealthLevel.Critical, down.Health);
        Assert.Contains(down.HealthReasons, r => r.StartsWith("Postgres is down", StringComparison.Ordinal));
        var primary = await Poll.UntilAsync(
            () => fixture.Api.GetNodeAsync(FleetFixture.Cluster, FleetFixture.Primary),
            n => n.Snapshot.Standbys.Count == 1,
            FleetFixture.ConditionTimeout,
            "the primary to report one standby",
            n => string.Join(",", n.Snapshot.Standbys.Select(s => s.ApplicationName)));
        Assert.Equal("node1", primary.Snapshot.Standbys[0].ApplicationName);
        var cluster = await fixture.Api.GetClusterAsync(FleetFixture.Cluster).DefaultTimeout();
        Assert.Equal(1u, cluster.Summary.StreamingReplicaCount);
        Assert.Equal(1u, cluster.Summary.FiringAlertCount);
        Assert.Equal(HealthLevel.Critical, cluster.Summary.Health);

        // Back up: the alert resolves.
        await replica.StartAsync().WaitAsync(TimeSpan.FromSeconds(60));
        var resolved = await NextAsync(changes.Reader, a => a.Id == pending.Id);
        Assert.Equal(AlertState.Resolved, resolved.State);
        Assert.NotNull(resolved.ResolvedAt);
        Assert.Equal(firing.FiringSince, resolved.FiringSince);

        // ... and resolves there: Alertmanager holds it no longer as active.
        await Poll.UntilAsync(
            () => fixture.Alertmanager.AlertsAsync(),
            a => !a.EnumerateArray().Any(x => IsThisAlert(x) && x.GetProperty("status").GetProperty("state").GetString() == "active"),
            FleetFixture.ConditionTimeout,
            "the Alertmanager to see postgres_down for node2 resolved",
            a => a.ToString());

        var history = await Poll.UntilAsync(
            () => fixture.Api.ListAlertsAsync(new ListAlertsRequest { Cluster = FleetFixture.Cluster, Node = Node, State = AlertState.Resolved }),
            r => r.Alerts.Any(a => a.Id == pending.Id),
            FleetFixture.ConditionTimeout,
            "the resolved alert in ListAlerts(RESOLVED)");
        var stored = Assert.Single(history.Alerts, a => a.Id == pending.Id);
        Assert.Equal(AlertState.Resolved, stored.State);
        Assert.Equal(resolved.ResolvedAt, stored.ResolvedAt);
        var stillActive = await fixture.Api.ListAlertsAsync(new ListAlertsRequest { Cluster = FleetFixture.Cluster, Node = Node }).DefaultTimeout();
        Assert.DoesNotContain(stillActive.Alerts, a => a.Rule == Rule);

        // The audit log has the firing and the resolution, with reasons.
        var events = await Poll.UntilAsync(
            () => fixture.Api.ListEventsAsync(new ListEventsRequest { Cluster = FleetFixture.Cluster, Node = Node, Kind = EventKind.Alert, Since = Timestamp.FromDateTimeOffset(stoppedAt.AddSeconds(-1)) }),
            r => r.Events.Any(e => e.Message.StartsWith($"{Rule} resolved", StringComparison.Ordinal)),
            FleetFixture.ConditionTimeout,
            "a 'postgres_down resolved' ALERT event");
        var resolvedEvent = Assert.Single(events.Events, e => e.Message.StartsWith($"{Rule} resolved", StringComparison.Ordinal));
        Assert.StartsWith("resolved after firing for", Assert.Single(resolvedEvent.Reasons), StringComparison.Ordinal);
        var firedEvent = Assert.Single(events.Events, e => e.Message.StartsWith($"{Rule} firing", StringComparison.Ordinal));
        Assert.True(firedEvent.Id < resolvedEvent.Id);

        // And the replica streams again.
        await fixture.WaitUntilWholeAsync();

        await watchCts.CancelAsync();
        await reader.WaitAsync(FleetFixture.ConditionTimeout);
    }

    private static bool IsThisAlert(System.Text.Json.JsonElement alert) =>
        alert.GetProperty("labels") is var labels && labels.GetProperty("alertname").GetString() == Rule && labels.GetProperty("node").GetString() == Node;

    private static async Task<Alert> NextAsync(ChannelReader<Alert> reader, Func<Alert, bool> match)
    {
        using var timeout = new CancellationTokenSource(FleetFixture.ConditionTimeout);
        while (true)
        {
            var alert = await reader.ReadAsync(timeout.Token);
            if (match(alert))
            {
                return alert;
            }
        }
    }

    private static async Task ReadAlertChangesAsync(
        AsyncServerStreamingCall<FleetChange> watch, ChannelWriter<Alert> alerts, TaskCompletionSource initial, CancellationToken cancellationToken)
    {
        try
        {
            while (await watch.ResponseStream.MoveNext(cancellationToken))
            {
                var change = watch.ResponseStream.Current;
                if (change.ChangeCase == FleetChange.ChangeOneofCase.InitialStateComplete)
                {
                    initial.TrySetResult();
                }
                else if (change.ChangeCase == FleetChange.ChangeOneofCase.AlertChanged)
                {
                    await alerts.WriteAsync(change.AlertChanged, cancellationToken);
                }
            }
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
        {
            // The test is done watching.
        }
        catch (Exception ex)
        {
            initial.TrySetException(ex);
            alerts.TryComplete(ex);
            return;
        }

        alerts.TryComplete();
    }
}
