using Fleet.Aggregator.Health;
using Fleet.Aggregator.State;
using Fleet.Protos.V1;

namespace Fleet.Aggregator.Monitoring;

/// <summary>
/// The aggregator's alert tracker as the views read it (<see cref="IAlertView"/>). <see cref="FleetMonitor"/> puts
/// the tracker in at start (with its block of ids and the restored alerts) and is the only one that evaluates it;
/// keeping the view here means the views need not depend on the monitor, which depends on them.
/// </summary>
internal sealed class AlertBook(AlertRuleSet rules) : IAlertView
{
    private volatile AlertTracker _tracker = new(rules);

    public AlertTracker Tracker
    {
        get => _tracker;
        set => _tracker = value;
    }

    public IReadOnlyList<Alert> ActiveAlerts(string? cluster) =>
        cluster is null ? _tracker.GetActiveAlerts() : _tracker.ListAlerts(new ListAlertsRequest { Cluster = cluster });
}
