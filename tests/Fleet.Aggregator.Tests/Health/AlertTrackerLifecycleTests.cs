using Fleet.Aggregator.Health;
using Fleet.Protos.V1;
using static Fleet.Aggregator.Tests.Health.HealthTestData;

namespace Fleet.Aggregator.Tests.Health;

/// <summary>inactive → PENDING → FIRING → RESOLVED, with explicit times.</summary>
public class AlertTrackerLifecycleTests
{
    private static readonly TimeSpan CpuFor = TimeSpan.FromMinutes(5); // cpu_high's default

    private static AlertTracker CpuTracker(ulong firstSequence = 1) => new(Only("cpu_high"), firstSequence);

    private static IReadOnlyList<AlertTransition> Cpu(AlertTracker tracker, double percent, DateTimeOffset at) =>
        tracker.Evaluate(Input(WithCpu(percent), at), at);

    [Fact]
    public void Evaluate_ConditionFirstHolds_CreatesPendingAlert()
    {
        var tracker = CpuTracker();

        var transition = Assert.Single(Cpu(tracker, 95, T0));

        Assert.Equal(AlertState.Unspecified, transition.From);
        Assert.Equal(AlertState.Pending, transition.To);
        Assert.Equal("cpu_high/orders/orders-db-1/1", transition.Alert.Id);
        Assert.Equal(AlertState.Pending, transition.Alert.State);
        Assert.Equal(T0, transition.Alert.PendingSince.ToDateTimeOffset());
        Assert.Null(transition.Alert.FiringSince);
        Assert.Equal(95, transition.Alert.Value);
        Assert.Equal(80, transition.Alert.Threshold);
        Assert.Equal("percent", transition.Alert.Unit);
        Assert.Equal(Severity.Warning, transition.Alert.Severity);
        Assert.Equal("CPU busy 95 % > 80 %", transition.Alert.Message);
        Assert.Equal("CPU busy 95 % > 80 %; fires if it holds for 5m", transition.Reason);
    }

    [Fact]
    public void Evaluate_ConditionHeldShorterThanFor_StaysPending()
    {
        var tracker = CpuTracker();
        Cpu(tracker, 95, T0);

        Assert.Empty(Cpu(tracker, 96, T0 + CpuFor - TimeSpan.FromSeconds(1)));
        Assert.Equal(AlertState.Pending, Assert.Single(tracker.GetActiveAlerts()).State);
    }

    [Fact]
    public void Evaluate_ConditionHeldForFullDuration_Fires()
    {
        var tracker = CpuTracker();
        Cpu(tracker, 95, T0);
        Cpu(tracker, 96, T0.AddMinutes(1));

        var transition = Assert.Single(Cpu(tracker, 97, T0 + CpuFor));

        Assert.Equal(AlertState.Pending, transition.From);
        Assert.Equal(AlertState.Firing, transition.To);
        Assert.Equal("cpu_high/orders/orders-db-1/1", transition.Alert.Id);
        Assert.Equal(T0, transition.Alert.PendingSince.ToDateTimeOffset());
        Assert.Equal(T0 + CpuFor, transition.Alert.FiringSince.ToDateTimeOffset());
        Assert.Equal(97, transition.Alert.Value);
        Assert.Equal("CPU busy 97 % > 80 %; held for 5m (for 5m)", transition.Reason);
        Assert.Empty(Cpu(tracker, 97, T0 + CpuFor + TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void Evaluate_FiringConditionClears_Resolves()
    {
        var tracker = CpuTracker();
        Cpu(tracker, 95, T0);
        Cpu(tracker, 95, T0 + CpuFor);

        var transition = Assert.Single(Cpu(tracker, 40, T0.AddMinutes(7)));

        Assert.Equal(AlertState.Firing, transition.From);
        Assert.Equal(AlertState.Resolved, transition.To);
        Assert.False(transition.IsCancelledPending);
        Assert.Equal(T0.AddMinutes(7), transition.Alert.ResolvedAt.ToDateTimeOffset());
        Assert.Equal(T0 + CpuFor, transition.Alert.FiringSince.ToDateTimeOffset());
        Assert.Equal("resolved after firing for 2m: CPU busy 40 % <= 80 %", transition.Reason);
        Assert.Empty(tracker.GetActiveAlerts());
        Assert.Equal(transition.Alert.Id, Assert.Single(tracker.GetRecentlyResolved()).Id);
    }

    [Fact]
    public void Evaluate_PendingConditionClears_ResolvesWithoutFiring()
    {
        var tracker = CpuTracker();
        Cpu(tracker, 95, T0);

        var transition = Assert.Single(Cpu(tracker, 50, T0.AddMinutes(2)));

        Assert.True(transition.IsCancelledPending);
        Assert.Equal(AlertState.Pending, transition.From);
        Assert.Equal(AlertState.Resolved, transition.To);
        Assert.Null(transition.Alert.FiringSince);
        Assert.Equal("cleared before firing (held 2m of 5m): CPU busy 50 % <= 80 %", transition.Reason);
    }

    [Fact]
    public void Evaluate_FlappingCondition_PendingRestartsWithNewIdAndNeverFires()
    {
        var tracker = CpuTracker();
        var transitions = new List<AlertTransition>();
        for (var minute = 0; minute < 20; minute++)
        {
            // Above the threshold for 3 minutes, then below for 1: never 5 minutes in a row.
            var percent = minute % 4 == 3 ? 50 : 95;
            tracker.Evaluate(Input(WithCpu(percent), T0.AddMinutes(minute)), T0.AddMinutes(minute), transitions);
        }

        Assert.DoesNotContain(transitions, t => t.To == AlertState.Firing);
        var pendings = transitions.Where(t => t.To == AlertState.Pending).ToList();
        Assert.Equal(5, pendings.Count);
        Assert.Equal(5, pendings.Select(t => t.Alert.Id).Distinct().Count());
        Assert.Equal(T0.AddMinutes(16), pendings[^1].Alert.PendingSince.ToDateTimeOffset());
    }

    [Fact]
    public void Evaluate_ResolvedConditionReturns_StartsNewAlertWithNewId()
    {
        var tracker = CpuTracker();
        var first = Assert.Single(Cpu(tracker, 95, T0)).Alert.Id;
        Cpu(tracker, 95, T0 + CpuFor);
        Cpu(tracker, 10, T0.AddMinutes(6));

        var again = Assert.Single(Cpu(tracker, 95, T0.AddMinutes(7)));

        Assert.Equal(AlertState.Unspecified, again.From);
        Assert.Equal(AlertState.Pending, again.To);
        Assert.NotEqual(first, again.Alert.Id);
        Assert.Equal("cpu_high/orders/orders-db-1/2", again.Alert.Id);
    }

    [Fact]
    public void Evaluate_ZeroForDuration_FiresAtOnce()
    {
        var tracker = new AlertTracker(Only("archive_out_of_region"));
        var archive = ArchiveOk();
        archive.ArchiveRegion = "us-east";

        var transition = Assert.Single(tracker.Evaluate(Input(HealthyPrimary(), T0, archive: archive), T0));

        Assert.Equal(AlertState.Unspecified, transition.From);
        Assert.Equal(AlertState.Firing, transition.To);
        Assert.Equal(Severity.Critical, transition.Alert.Severity);
        Assert.Equal(T0, transition.Alert.PendingSince.ToDateTimeOffset());
        Assert.Equal(T0, transition.Alert.FiringSince.ToDateTimeOffset());
        Assert.EndsWith("; fires at once (no hold duration)", transition.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_StartingSequence_IdsContinueFromIt()
    {
        var tracker = CpuTracker(firstSequence: 4711);

        var transition = Assert.Single(Cpu(tracker, 95, T0));

        Assert.Equal(4711ul, transition.Sequence);
        Assert.Equal("cpu_high/orders/orders-db-1/4711", transition.Alert.Id);
        Assert.Equal(4712ul, tracker.NextSequence);
    }

    [Fact]
    public void Evaluate_StandbyLagPerStandby_SubjectInIdAndMessage()
    {
        var tracker = new AlertTracker(Only("replication_lag_warning"));

        var transitions = tracker.Evaluate(Input(WithStandbyLag(("orders-db-2", 12.3), ("orders-db-3", 1)), T0), T0);

        var transition = Assert.Single(transitions);
        Assert.Equal("orders-db-2", transition.Subject);
        Assert.Equal("replication_lag_warning/orders/orders-db-1/orders-db-2/1", transition.Alert.Id);
        Assert.Equal("orders-db-1", transition.Alert.Node);
        Assert.Equal("standby orders-db-2 replay lag 12.3 s > 5 s", transition.Alert.Message);
    }

    [Fact]
    public void Evaluate_StandbyDisappears_ItsLagAlertResolves()
    {
        var tracker = new AlertTracker(Only("replication_lag_warning"));
        tracker.Evaluate(Input(WithStandbyLag(("orders-db-2", 12), ("orders-db-3", 12)), T0), T0);

        var transition = Assert.Single(tracker.Evaluate(Input(WithStandbyLag(("orders-db-3", 12)), T0.AddSeconds(1)), T0.AddSeconds(1)));

        Assert.Equal("orders-db-2", transition.Subject);
        Assert.Equal(AlertState.Resolved, transition.To);
        Assert.EndsWith("orders-db-2 is no longer reported", transition.Reason, StringComparison.Ordinal);
        Assert.Equal("orders-db-3", Assert.Single(tracker.GetActiveAlerts()).Id.Split('/')[3]);
    }

    [Fact]
    public void Evaluate_DeadlocksWithinAnHour_FireAndAgeOut()
    {
        var tracker = new AlertTracker(Only("deadlocks_high"));
        var snapshot = HealthyPrimary();
        Assert.Empty(tracker.Evaluate(Input(snapshot, T0), T0));

        snapshot.Databases[0].Deadlocks = 6;
        var fired = Assert.Single(tracker.Evaluate(Input(snapshot, T0.AddMinutes(10)), T0.AddMinutes(10)));
        Assert.Equal(AlertState.Firing, fired.To);
        Assert.Equal("deadlocks in the last hour: 6/h > 5/h", fired.Alert.Message);

        var transitions = new List<AlertTransition>();
        for (var minute = 11; minute <= 75; minute++)
        {
            tracker.Evaluate(Input(snapshot, T0.AddMinutes(minute)), T0.AddMinutes(minute), transitions);
        }

        var resolved = Assert.Single(transitions);
        Assert.Equal(AlertState.Resolved, resolved.To);
    }
}
