using System.Diagnostics;
using System.Globalization;
using Fleet.Bench.Aggregator.Target;
using Fleet.Protos.V1;

namespace Fleet.Bench.Aggregator.Simulation;

/// <summary>
/// The simulated region: clusters of one primary and its streaming replicas. WAL positions are a
/// function of time per cluster, so a primary and its replicas report consistent LSNs without sharing
/// state, and every report moves them forward.
/// </summary>
internal sealed class FleetModel
{
    private FleetModel(IReadOnlyList<ClusterModel> clusters, IReadOnlyList<NodeModel> nodes)
    {
        Clusters = clusters;
        Nodes = nodes;
    }

    public IReadOnlyList<ClusterModel> Clusters { get; }

    public IReadOnlyList<NodeModel> Nodes { get; }

    /// <summary><paramref name="agents"/> nodes in clusters of <paramref name="clusterSize"/> (the last one may be smaller).</summary>
    public static FleetModel Create(int agents, int clusterSize)
    {
        var clock = Stopwatch.StartNew();
        var clusters = new List<ClusterModel>();
        var nodes = new List<NodeModel>(agents);
        var random = new Random(20_240_601);
        var digits = Math.Max(4, ((agents + clusterSize - 1) / clusterSize).ToString(CultureInfo.InvariantCulture).Length);
        for (var c = 0; nodes.Count < agents; c++)
        {
            var size = Math.Min(clusterSize, agents - nodes.Count);
            var name = "pg-" + (c + 1).ToString(CultureInfo.InvariantCulture).PadLeft(digits, '0');
            var cluster = new ClusterModel(name, size, random, clock);
            clusters.Add(cluster);
            for (var ordinal = 0; ordinal < size; ordinal++)
            {
                nodes.Add(new NodeModel(nodes.Count, cluster, ordinal));
            }
        }

        return new FleetModel(clusters, nodes);
    }
}

/// <summary>One PostgreSQL cluster: identity, WAL rate, and which node is primary (ordinal 0).</summary>
internal sealed class ClusterModel
{
    public const ulong SegmentSize = 16 * 1024 * 1024;

    private readonly Stopwatch _clock;

    public ClusterModel(string name, int size, Random random, Stopwatch clock)
    {
        _clock = clock;
        Name = name;
        Size = size;
        NodeNames = [.. Enumerable.Range(1, size).Select(i => $"{name}-{i}")];
        SystemIdentifier = 7_300_000_000_000_000_000UL + (ulong)random.NextInt64(1, 99_999_999_999_999);
        // 64 KiB/s .. 4 MiB/s of WAL: idle OLTP to busy.
        WalBytesPerSecond = 65_536 * Math.Pow(64, random.NextDouble());
        BaseLsn = ((ulong)random.Next(1, 0x40) << 32) + (ulong)random.Next(0, int.MaxValue);
        Synchronous = size > 1 && random.NextDouble() < 0.3;
        CommitsPerSecond = 5 + (random.NextDouble() * 400);
        BaseXidAge = (ulong)random.Next(20_000_000, 180_000_000);
    }

    public string Name { get; }

    public int Size { get; }

    public IReadOnlyList<string> NodeNames { get; }

    public ulong SystemIdentifier { get; }

    public double WalBytesPerSecond { get; }

    public ulong BaseLsn { get; }

    public bool Synchronous { get; }

    public double CommitsPerSecond { get; }

    public ulong BaseXidAge { get; }

    public double Seconds => _clock.Elapsed.TotalSeconds;

    /// <summary>The primary's write position <paramref name="seconds"/> after the benchmark started.</summary>
    public ulong LsnAt(double seconds) => BaseLsn + (ulong)Math.Max(0, WalBytesPerSecond * seconds);

    public string PrimaryName => NodeNames[0];

    public static string AdvertiseHost(string node) => $"{node}.db.bench.invalid";
}

/// <summary>One node of a cluster (ordinal 0 is the primary) and its agent identity.</summary>
internal sealed class NodeModel(int index, ClusterModel cluster, int ordinal)
{
    private static readonly string[] Zones = ["a", "b", "c"];

    public int Index { get; } = index;

    public ClusterModel Cluster { get; } = cluster;

    public int Ordinal { get; } = ordinal;

    public string Name { get; } = cluster.NodeNames[ordinal];

    public NodeRole Role => Ordinal == 0 ? NodeRole.Primary : NodeRole.Replica;

    public NodeIdentity Identity => new()
    {
        Name = Name,
        Cluster = Cluster.Name,
        Region = AggregatorTarget.Region,
        Zone = $"{AggregatorTarget.Region}-{Zones[Ordinal % Zones.Length]}",
    };
}
