using Fleet.Aggregator.State;
using Fleet.Protos.V1;
using Microsoft.Extensions.Time.Testing;

namespace Fleet.Aggregator.Tests.State;

/// <summary>
/// The pure views that say who is primary and why a node is unhealthy (what operators, dashboards and the
/// failover controller's observers read), as tables over node records and a fake clock.
/// </summary>
public sealed class ClusterViewTests
{
    private static readonly TimeSpan StaleAfter = TimeSpan.FromSeconds(3);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 7, 12, 0, 0, TimeSpan.Zero));

    public static TheoryData<string, string?, string?> PrimaryCases => new()
    {
        // nodes (name:role:state:timeline:age-seconds), published primary, expected primary
        { "a:primary:up:1:0, b:replica:up:1:0", null, "a" },
        { "a:primary:up:1:0, b:primary:up:2:0", null, "b" }, // two claim it (wrongly): the higher timeline
        { "a:primary:up:2:1, b:primary:up:2:0", null, "b" }, // same timeline: the fresher report
        { "a:primary:up:2:0, b:primary:up:1:0", "b", "b" }, // the published primary wins over what reports say
        { "a:primary:up:1:10, b:replica:up:1:0", null, null }, // a silent primary's last report does not count
        { "a:primary:down:1:0, b:replica:up:1:0", null, null }, // a down one neither
        { "a:primary:disconnected:1:0, b:primary:up:2:0", null, "b" },
        { "a:primary:down:1:0, b:replica:up:1:0", "a", "a" }, // published but down: still the one of record
    };

    [Theory]
    [MemberData(nameof(PrimaryCases))]
    public void WhoIsPrimary(string nodes, string? published, string? expected)
    {
        var records = Records(nodes);
        var context = ClusterContext.Build(records, [], 0, _time.GetUtcNow(), StaleAfter, published);
        Assert.Equal(expected, context.Primary?.Key.Node);
    }

    public static TheoryData<string, string?, HealthLevel, string> HealthCases => new()
    {
        // node (name:role:state:timeline:age-seconds), firing alert (severity:message), health, first reason
        { "a:primary:up:1:0", null, HealthLevel.Ok, "" },
        { "a:primary:up:1:10", null, HealthLevel.Unknown, "agent silent" },
        { "a:primary:disconnected:1:0", null, HealthLevel.Unknown, "agent disconnected" },
        { "a:primary:down:1:0", null, HealthLevel.Critical, "postgres Down: connection refused" },
        { "a:primary:up:1:0", "warning:replication lag 12 s > 5 s", HealthLevel.Warning, "replication lag 12 s > 5 s" },
        { "a:primary:up:1:0", "critical:disk 97 % full", HealthLevel.Critical, "disk 97 % full" },
        { "a:primary:up:1:10", "critical:disk 97 % full", HealthLevel.Unknown, "agent silent" }, // silence is not made worse by old alerts
    };

    [Theory]
    [MemberData(nameof(HealthCases))]
    public void WhyANodeIsUnhealthy(string node, string? firingAlert, HealthLevel expected, string firstReason)
    {
        var records = Records(node);
        List<Alert> alerts = [];
        if (firingAlert is not null)
        {
            var (severity, message) = (firingAlert[..firingAlert.IndexOf(':', StringComparison.Ordinal)], firingAlert[(firingAlert.IndexOf(':', StringComparison.Ordinal) + 1)..]);
            alerts.Add(new Alert { Cluster = "pg", Node = "a", State = AlertState.Firing, Severity = severity == "critical" ? Severity.Critical : Severity.Warning, Message = message });
        }

        var context = ClusterContext.Build(records, alerts, 0, _time.GetUtcNow(), StaleAfter);
        var view = FleetViews.ToNode(records[0], context, includeSnapshot: false);

        Assert.Equal(expected, view.Health);
        if (firstReason.Length == 0)
        {
            Assert.Empty(view.HealthReasons);
        }
        else
        {
            Assert.StartsWith(firstReason, view.HealthReasons[0], StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Presence_FollowsTheClock()
    {
        var record = Records("a:replica:up:1:0")[0];
        Assert.Equal(AgentPresence.Connected, FleetViews.Presence(record, _time.GetUtcNow(), StaleAfter));
        _time.Advance(StaleAfter);
        Assert.Equal(AgentPresence.Connected, FleetViews.Presence(record, _time.GetUtcNow(), StaleAfter)); // exactly at the limit: not yet
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(AgentPresence.Stale, FleetViews.Presence(record, _time.GetUtcNow(), StaleAfter));
        Assert.Equal(AgentPresence.Disconnected, FleetViews.Presence(record with { Connected = false }, _time.GetUtcNow(), StaleAfter));
    }

    private List<NodeRecord> Records(string nodes) =>
        [.. nodes.Split(',', StringSplitOptions.TrimEntries).Select(spec =>
        {
            var parts = spec.Split(':');
            var (name, role, state) = (parts[0], parts[1] == "primary" ? NodeRole.Primary : NodeRole.Replica, parts[2]);
            var reportedAt = _time.GetUtcNow() - TimeSpan.FromSeconds(int.Parse(parts[4], System.Globalization.CultureInfo.InvariantCulture));
            return new NodeRecord
            {
                Key = new NodeKey("pg", name),
                Hello = new AgentHello { Identity = new NodeIdentity { Name = name, Cluster = "pg", Region = "local" }, Role = role },
                SessionId = 1,
                Peer = "127.0.0.1",
                ConnectedAt = reportedAt - TimeSpan.FromMinutes(1),
                LastReportAt = reportedAt,
                Connected = state != "disconnected",
                Snapshot = new NodeSnapshot
                {
                    Role = role,
                    PostgresState = state == "down" ? PostgresState.Down : PostgresState.Up,
                    PostgresError = state == "down" ? "connection refused" : string.Empty,
                    Timeline = uint.Parse(parts[3], System.Globalization.CultureInfo.InvariantCulture),
                },
            };
        })];
}
