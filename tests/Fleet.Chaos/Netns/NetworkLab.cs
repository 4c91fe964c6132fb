using System.Globalization;
using Fleet.Testing;

namespace Fleet.Chaos.Netns;

/// <summary>
/// A private network for one silent-failure scenario: a bridge in the host's namespace with two addresses
/// (.1 for the test's own clients, .2 for the aggregator) and one network namespace per node, joined to the
/// bridge by a veth pair, with its own address (.10, .11, ...) in a /24 picked at random inside 10.0.0.0/8.
/// Faults are iptables rules inside a node's namespace (each namespace has its own tables), so they touch
/// nothing else on the machine. Everything created is named with the lab's id and removed by
/// <see cref="DisposeAsync"/>; labs left by a killed test run are swept at the next <see cref="Create"/>.
/// Needs root, iproute2 and iptables.
/// </summary>
public sealed class NetworkLab : IAsyncDisposable
{
    private const string Prefix = "fltlab";
    private static readonly string RegistryDirectory = Path.Combine(Path.GetTempPath(), "fleet-netns-labs");

    private readonly Action<string> _log;
    private bool _disposed;

    private NetworkLab(string id, string subnet, int nodeCount, Action<string> log)
    {
        Id = id;
        Subnet = subnet;
        NodeCount = nodeCount;
        _log = log;
    }

    public string Id { get; }

    /// <summary>The first three octets, e.g. "10.123.45".</summary>
    public string Subnet { get; }

    public int NodeCount { get; }

    /// <summary>The host side's address for the test's own clients (writer, probes).</summary>
    public string ClientAddress => $"{Subnet}.1";

    /// <summary>The host side's address the aggregator listens on (a fault can cut a node from it alone).</summary>
    public string AggregatorAddress => $"{Subnet}.2";

    private string Bridge => $"fb{Id}";

    public string Namespace(int node) => $"{Prefix}-{Id}-n{node}";

    public string NodeAddress(int node) => $"{Subnet}.{10 + node}";

    /// <summary>Whether this machine can run the lab (root, ip, iptables); the reason when not.</summary>
    public static string? Unavailable()
    {
        if (Environment.UserName != "root")
        {
            return "network namespaces need root";
        }

        foreach (var tool in (string[])["ip", "iptables"])
        {
            if (!new[] { "/usr/sbin", "/sbin", "/usr/bin", "/bin" }.Any(d => File.Exists(Path.Combine(d, tool))))
            {
                return $"{tool} is not installed";
            }
        }

        return null;
    }

    public static NetworkLab Create(int nodeCount, Action<string> log)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(nodeCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(nodeCount, 9);
        if (Unavailable() is { } reason)
        {
            throw new InvalidOperationException($"The network-namespace lab cannot run here: {reason}.");
        }

        SweepStale(log);
        var id = Convert.ToHexString(BitConverter.GetBytes(Random.Shared.Next())).ToLowerInvariant()[..6];
        var subnet = $"10.{Random.Shared.Next(100, 250)}.{Random.Shared.Next(1, 250)}";
        var lab = new NetworkLab(id, subnet, nodeCount, log);
        Directory.CreateDirectory(RegistryDirectory);
        File.WriteAllText(Path.Combine(RegistryDirectory, id), OwnerProcess.Current);
        try
        {
            lab.Build();
            return lab;
        }
        catch
        {
            lab.Teardown();
            throw;
        }
    }

    /// <summary>Drops everything to and from the node on its link (loopback inside stays): a silent partition.</summary>
    public void Isolate(int node) =>
        Iptables(node, ["-A", "INPUT", "-i", "eth0", "-j", "DROP"], ["-A", "OUTPUT", "-o", "eth0", "-j", "DROP"]);

    /// <summary>Drops what the node receives only (it still sends): a one-way partition.</summary>
    public void DropIncoming(int node) => Iptables(node, ["-A", "INPUT", "-i", "eth0", "-j", "DROP"]);

    /// <summary>Cuts the node from the aggregator only (both ways); its peers and clients still reach it.</summary>
    public void CutFromAggregator(int node) =>
        Iptables(node, ["-A", "INPUT", "-s", AggregatorAddress, "-j", "DROP"], ["-A", "OUTPUT", "-d", AggregatorAddress, "-j", "DROP"]);

    /// <summary>Cuts <paramref name="node"/> from <paramref name="peer"/> only (both ways, rules in the node's namespace).</summary>
    public void CutBetween(int node, int peer) =>
        Iptables(node, ["-A", "INPUT", "-s", NodeAddress(peer), "-j", "DROP"], ["-A", "OUTPUT", "-d", NodeAddress(peer), "-j", "DROP"]);

    /// <summary>Removes every fault rule of the node.</summary>
    public void Heal(int node) => Iptables(node, ["-F", "INPUT"], ["-F", "OUTPUT"]);

    public ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            _disposed = true;
            Teardown();
        }

        return ValueTask.CompletedTask;
    }

    private void Build()
    {
        ExternalCommand.Run("ip", "link", "add", Bridge, "type", "bridge");
        ExternalCommand.Run("ip", "addr", "add", $"{ClientAddress}/24", "dev", Bridge);
        ExternalCommand.Run("ip", "addr", "add", $"{AggregatorAddress}/24", "dev", Bridge);
        ExternalCommand.Run("ip", "link", "set", Bridge, "up");
        for (var node = 0; node < NodeCount; node++)
        {
            var ns = Namespace(node);
            var hostEnd = $"fv{Id}{node}";
            ExternalCommand.Run("ip", "netns", "add", ns);
            ExternalCommand.Run("ip", "link", "add", hostEnd, "type", "veth", "peer", "name", "eth0", "netns", ns);
            ExternalCommand.Run("ip", "link", "set", hostEnd, "master", Bridge);
            ExternalCommand.Run("ip", "link", "set", hostEnd, "up");
            ExternalCommand.Run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up");
            ExternalCommand.Run("ip", "netns", "exec", ns, "ip", "addr", "add", $"{NodeAddress(node)}/24", "dev", "eth0");
            ExternalCommand.Run("ip", "netns", "exec", ns, "ip", "link", "set", "eth0", "up");
        }

        _log($"network lab {Id}: bridge {Bridge} {ClientAddress} (clients), {AggregatorAddress} (aggregator); " +
             string.Join(", ", Enumerable.Range(0, NodeCount).Select(n => $"{Namespace(n)} {NodeAddress(n)}")));
    }

    private void Iptables(int node, params string[][] rules)
    {
        foreach (var rule in rules)
        {
            ExternalCommand.Run(["ip", "netns", "exec", Namespace(node), "iptables", .. rule]);
        }
    }

    /// <summary>Kills whatever still runs inside the namespaces, then deletes them and the bridge. Never throws.</summary>
    private void Teardown()
    {
        for (var node = 0; node < NodeCount; node++)
        {
            KillAllIn(Namespace(node));
            ExternalCommand.TryRun("ip", "netns", "del", Namespace(node));
        }

        ExternalCommand.TryRun("ip", "link", "del", Bridge);
        TryDelete(Path.Combine(RegistryDirectory, Id));
        _log($"network lab {Id}: removed");
    }

    private static void KillAllIn(string ns)
    {
        var (exit, output) = ExternalCommand.TryRun("ip", "netns", "pids", ns);
        if (exit != 0)
        {
            return;
        }

        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (int.TryParse(line, out var pid))
            {
                ExternalCommand.TryRun("kill", "-CONT", pid.ToString(CultureInfo.InvariantCulture));
                ExternalCommand.TryRun("kill", "-KILL", pid.ToString(CultureInfo.InvariantCulture));
            }
        }
    }

    /// <summary>Removes labs whose test process is gone (killed before its teardown ran).</summary>
    private static void SweepStale(Action<string> log)
    {
        if (!Directory.Exists(RegistryDirectory))
        {
            return;
        }

        foreach (var entry in Directory.EnumerateFiles(RegistryDirectory))
        {
            var id = Path.GetFileName(entry);
            if (OwnerProcess.IsAlive(File.ReadAllText(entry)))
            {
                continue;
            }

            var (_, namespaces) = ExternalCommand.TryRun("ip", "netns", "list");
            foreach (var ns in namespaces.Split('\n').Select(l => l.Split(' ')[0]).Where(n => n.StartsWith($"{Prefix}-{id}-", StringComparison.Ordinal)))
            {
                KillAllIn(ns);
                ExternalCommand.TryRun("ip", "netns", "del", ns);
            }

            ExternalCommand.TryRun("ip", "link", "del", $"fb{id}");
            TryDelete(entry);
            log($"network lab {id}: stale, removed");
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
    }
}
