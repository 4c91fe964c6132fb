using Fleet.Aggregator.Health;
using Fleet.Protos.V1;
using Google.Protobuf.WellKnownTypes;

namespace Fleet.Aggregator.Tests.Health;

/// <summary>Builders of node views for the health tests; every time is explicit.</summary>
internal static class HealthTestData
{
    public const string ClusterName = "orders";
    public const string NodeName = "orders-db-1";
    public const string Region = "kr-central";

    public static readonly DateTimeOffset T0 = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>A primary with nothing wrong: every rule evaluates and none holds.</summary>
    public static NodeSnapshot HealthyPrimary() => new()
    {
        PostgresState = PostgresState.Up,
        Role = NodeRole.Primary,
        Primary = new NodeSnapshot.Types.Primary { CurrentLsn = 0x1000 },
        Standbys =
        {
            new NodeSnapshot.Types.Standby { ApplicationName = "orders-db-2", State = "streaming", ReplayLagSeconds = 0.2 },
        },
        Connections = new NodeSnapshot.Types.Connections { Total = 10, MaxConnections = 100 },
        Databases =
        {
            new NodeSnapshot.Types.Database { Name = "app", IntervalHitRatio = 0.999, Deadlocks = 0 },
        },
        Host = new NodeSnapshot.Types.Host
        {
            CpuPercent = 10, MemoryUsedBytes = 10, MemoryTotalBytes = 100, DiskUsedBytes = 10, DiskTotalBytes = 100,
        },
        Archiver = new NodeSnapshot.Types.Archiver
        {
            ArchiveMode = "on",
            ArchivedCount = 1,
            LastArchivedWal = "000000010000000000000001",
            LastArchivedTime = Timestamp.FromDateTimeOffset(T0),
        },
    };

    public static NodeSnapshot HealthyReplica() => new()
    {
        PostgresState = PostgresState.Up,
        Role = NodeRole.Replica,
        Replica = new NodeSnapshot.Types.Replica
        {
            ReceiveLsn = 0x1000,
            ReplayLsn = 0x1000,
            WalReceiver = new NodeSnapshot.Types.WalReceiver { Status = "streaming", SenderHost = "10.0.0.1" },
        },
        Host = new NodeSnapshot.Types.Host { CpuPercent = 10, MemoryTotalBytes = 100, DiskTotalBytes = 100 },
    };

    public static NodeSnapshot WithCpu(double percent)
    {
        var snapshot = HealthyPrimary();
        snapshot.Host.CpuPercent = percent;
        return snapshot;
    }

    public static NodeSnapshot WithStandbyLag(params (string Name, double Lag)[] standbys)
    {
        var snapshot = HealthyPrimary();
        snapshot.Standbys.Clear();
        foreach (var (name, lag) in standbys)
        {
            snapshot.Standbys.Add(new NodeSnapshot.Types.Standby { ApplicationName = name, State = "streaming", ReplayLagSeconds = lag });
        }

        return snapshot;
    }

    public static ArchiveStatus ArchiveOk() => new()
    {
        Verdict = ArchiveVerdict.Ok,
        ArchiveRegion = Region,
        ArchiveLocation = "s3://wal/orders",
    };

    /// <summary>A node that reported at <paramref name="reportedAt"/> over an open stream.</summary>
    public static NodeHealthInput Input(
        NodeSnapshot? snapshot,
        DateTimeOffset reportedAt,
        bool connected = true,
        ArchiveStatus? archive = null,
        string node = NodeName) =>
        new(ClusterName, node, Region, snapshot, reportedAt, connected, archive);

    /// <summary>Rules from the defaults with per-rule overrides applied.</summary>
    public static AlertRuleSet Rules(Action<AlertsOptions>? configure = null)
    {
        var options = new AlertsOptions();
        configure?.Invoke(options);
        return AlertRuleSet.Create(options);
    }

    /// <summary>Only the named rules enabled, so lifecycle tests see only the transitions they are about.</summary>
    public static AlertRuleSet Only(params string[] names) => Rules(options =>
    {
        foreach (var (name, rule) in options.Rules)
        {
            rule.Enabled = names.Contains(name);
        }
    });

    public static HealthRule Rule(string name) =>
        AlertRuleSet.Default.Find(name) ?? throw new InvalidOperationException($"no rule {name}");

    /// <summary>Evaluates one rule directly; null when the rule had no data.</summary>
    public static List<RuleObservation>? Observe(string rule, in NodeHealthInput input, DateTimeOffset now, NodeHistory? history = null)
    {
        var observations = new List<RuleObservation>();
        return Rule(rule).Evaluate(new RuleContext(input, now, history), observations) ? observations : null;
    }
}
