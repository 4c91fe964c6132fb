using Fleet.Aggregator.Health;
using Fleet.Protos.V1;
using static Fleet.Aggregator.Tests.Health.HealthTestData;

namespace Fleet.Aggregator.Tests.Health;

/// <summary>Silent agents, stale data, out-of-order inputs.</summary>
public class AlertTrackerStalenessTests
{
    [Fact]
    public void Evaluate_AgentSilentPastThreshold_FiresAgentSilent()
    {
        var tracker = new AlertTracker(Only("agent_silent"));
        var input = Input(HealthyPrimary(), T0);
        Assert.Empty(tracker.Evaluate(input, T0));

        Assert.Empty(tracker.Evaluate(input, T0.AddSeconds(15)));
        var transition = Assert.Single(tracker.Evaluate(input, T0.AddSeconds(16)));

        Assert.Equal("agent_silent", transition.Alert.Rule);
        Assert.Equal(AlertState.Firing, transition.To);
        Assert.Equal(Severity.Critical, transition.Alert.Severity);
        Assert.Equal("no report from the agent for 16 s > 15 s (stream open)", transition.Alert.Message);
    }

    [Fact]
    public void Evaluate_AgentReportsAgain_AgentSilentResolves()
    {
        var tracker = new AlertTracker(Only("agent_silent"));
        tracker.Evaluate(Input(HealthyPrimary(), T0), T0.AddSeconds(30));

        var transition = Assert.Single(tracker.Evaluate(Input(HealthyPrimary(), T0.AddSeconds(31)), T0.AddSeconds(31)));

        Assert.Equal(AlertState.Resolved, transition.To);
        Assert.Equal("resolved after firing for 1s: no report from the agent for 0 s <= 15 s (stream open)", transition.Reason);
    }

    [Fact]
    public void Evaluate_StaleNode_FiringSnapshotAlertFrozenNotResolved()
    {
        var tracker = new AlertTracker(Only("agent_silent", "cpu_high"));
        tracker.Evaluate(Input(WithCpu(95), T0), T0);
        tracker.Evaluate(Input(WithCpu(95), T0.AddMinutes(5)), T0.AddMinutes(5)); // cpu_high fires
        var lastReport = T0.AddMinutes(5);

        // The agent goes silent. Past Link:StaleAfter (5 s) the sweep keeps evaluating the node; even a
        // view that would clear cpu_high must not resolve it, because that data is stale.
        var transitions = new List<AlertTransition>();
        for (var second = 6; second <= 120; second++)
        {
            tracker.Evaluate(Input(WithCpu(10), lastReport), lastReport.AddSeconds(second), transitions);
        }

        // Only agent_silent changed: cpu_high neither resolved from the stale 10 % nor from missing data.
        var silent = Assert.Single(transitions);
        Assert.Equal("agent_silent", silent.Alert.Rule);
        Assert.Equal(lastReport.AddSeconds(16), silent.Alert.FiringSince.ToDateTimeOffset());
        var cpu = Assert.Single(tracker.GetActiveAlerts(), a => a.Rule == "cpu_high");
        Assert.Equal(AlertState.Firing, cpu.State);
        Assert.Equal(95, cpu.Value);
    }

    [Fact]
    public void Evaluate_StaleNode_PendingAlertDoesNotAdvance()
    {
        var tracker = new AlertTracker(Only("cpu_high"));
        tracker.Evaluate(Input(WithCpu(95), T0), T0);

        Assert.Empty(tracker.Evaluate(Input(WithCpu(95), T0), T0.AddMinutes(10)));
        Assert.Equal(AlertState.Pending, Assert.Single(tracker.GetActiveAlerts()).State);
    }

    [Fact]
    public void Evaluate_FreshDataAfterStaleness_FrozenAlertResumes()
    {
        var tracker = new AlertTracker(Only("cpu_high"));
        tracker.Evaluate(Input(WithCpu(95), T0), T0);
        tracker.Evaluate(Input(WithCpu(95), T0), T0.AddMinutes(10)); // stale: frozen

        var transition = Assert.Single(tracker.Evaluate(Input(WithCpu(30), T0.AddMinutes(11)), T0.AddMinutes(11)));

        Assert.Equal(AlertState.Resolved, transition.To);
        Assert.True(transition.IsCancelledPending);
    }

    [Fact]
    public void Evaluate_AgentDisconnected_SnapshotRulesFrozenAtOnce()
    {
        var tracker = new AlertTracker(Only("cpu_high", "agent_silent"));
        tracker.Evaluate(Input(WithCpu(95), T0), T0);

        Assert.Empty(tracker.Evaluate(Input(WithCpu(10), T0.AddSeconds(1), connected: false), T0.AddSeconds(1)));
        Assert.Equal(AlertState.Pending, Assert.Single(tracker.GetActiveAlerts()).State);
        Assert.Equal(HealthLevel.Unknown, tracker.GetNodeHealth(ClusterName, NodeName).Level);
    }

    [Fact]
    public void Evaluate_PostgresDown_QueryRulesFrozenWhilePostgresDownPends()
    {
        var tracker = new AlertTracker(Only("connections_high", "postgres_down"));
        var busy = HealthyPrimary();
        busy.Connections.Total = 95;
        tracker.Evaluate(Input(busy, T0), T0);
        tracker.Evaluate(Input(busy, T0.AddMinutes(5)), T0.AddMinutes(5)); // connections_high fires

        var down = HealthyPrimary();
        down.PostgresState = PostgresState.Down;
        down.Connections = null;
        var transition = Assert.Single(tracker.Evaluate(Input(down, T0.AddMinutes(6)), T0.AddMinutes(6)));

        Assert.Equal("postgres_down", transition.Alert.Rule);
        Assert.Equal(AlertState.Pending, transition.To);
        Assert.Contains(tracker.GetActiveAlerts(), a => a is { Rule: "connections_high", State: AlertState.Firing });
    }

    [Fact]
    public void Evaluate_OlderInputAfterNewer_Ignored()
    {
        var tracker = new AlertTracker(Only("agent_silent"));
        var fresh = Input(HealthyPrimary(), T0.AddSeconds(20));
        tracker.Evaluate(fresh, T0.AddSeconds(20));

        // A sweep that read the node before the fresh report arrived, evaluated after it.
        Assert.Empty(tracker.Evaluate(Input(HealthyPrimary(), T0), T0.AddSeconds(20)));
        Assert.Empty(tracker.GetActiveAlerts());
    }

    [Fact]
    public void EvaluateAll_SweepOverSilentNodes_FiresOncePerNode()
    {
        var tracker = new AlertTracker(Only("agent_silent"));
        var inputs = new[] { Input(null, T0, node: "a"), Input(null, T0, node: "b"), Input(null, T0.AddSeconds(10), node: "c") };

        var transitions = tracker.EvaluateAll(inputs, T0.AddSeconds(20));

        Assert.Equal(["a", "b"], transitions.Select(t => t.Alert.Node));
        Assert.Empty(tracker.EvaluateAll(inputs, T0.AddSeconds(21)));
    }

    [Fact]
    public void Evaluate_TimeGoesBackwards_ClampedToLastEvaluation()
    {
        var tracker = new AlertTracker(Only("cpu_high"));
        tracker.Evaluate(Input(WithCpu(95), T0.AddMinutes(1)), T0.AddMinutes(1));

        var transition = Assert.Single(tracker.Evaluate(Input(WithCpu(10), T0.AddMinutes(1)), T0));

        Assert.Equal(T0.AddMinutes(1), transition.Alert.ResolvedAt.ToDateTimeOffset());
    }
}
