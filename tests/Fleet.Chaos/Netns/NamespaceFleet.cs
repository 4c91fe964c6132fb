using System.Diagnostics;
using System.Globalization;
using Fleet.Aggregator;
using Fleet.Hosting.Grpc;
using Fleet.LocalFleet.Postgres;
using Fleet.Protos.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Npgsql;

namespace Fleet.Chaos.Netns;

/// <summary>
/// Every node on its own address: node i's PostgreSQL and its fleet-agent (the real executable, a child
/// process) run inside network namespace i of a <see cref="NetworkLab"/>, the aggregator in this process
/// on the bridge's aggregator address. Agents reach their server over loopback inside the namespace and
/// advertise the namespace address (Replication:Host), so Follow, Rejoin and pg_rewind go across addresses.
/// Faults come from the lab (iptables inside a namespace) and from signals (freeze the server, the agent,
/// or both). Disposing stops the agents, the aggregator and the servers and removes the lab.
/// </summary>
public sealed class NamespaceFleet : IAsyncDisposable
{
    public const string ClusterName = "netns";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private readonly Action<string> _log;
    private readonly List<Process> _agents = [];
    private readonly string _workDirectory;
    private WebApplication? _aggregator;

    private readonly string _logLevel;
    private readonly ClusterProbe _probe;

    private NamespaceFleet(NetworkLab lab, LocalPostgresCluster postgres, int aggregatorPort, string workDirectory, Action<string> log, string logLevel)
    {
        _logLevel = logLevel;
        Lab = lab;
        Postgres = postgres;
        AggregatorPort = aggregatorPort;
        _workDirectory = workDirectory;
        _log = log;
        Channel = GrpcChannels.ForAddress(new Uri($"http://{lab.AggregatorAddress}:{aggregatorPort}/"));
        _probe = new ClusterProbe(Channel, ClusterName);
    }

    public NetworkLab Lab { get; }

    public LocalPostgresCluster Postgres { get; }

    public int AggregatorPort { get; }

    public GrpcChannel Channel { get; }

    /// <summary>
    /// How a client beside node <paramref name="index"/> reaches it: its Unix socket, a file, which no network
    /// fault cuts. An observer on these sees what a client inside the node's partition would see.
    /// </summary>
    public string LocalConnectionString(int index) =>
        new NpgsqlConnectionStringBuilder(Postgres.Nodes[index].ConnectionString) { Host = Postgres.RootDirectory }.ConnectionString;

    /// <summary>How a client on the host reaches node <paramref name="index"/>'s PostgreSQL (its namespace address).</summary>
    public string ConnectionString(int index) =>
        new NpgsqlConnectionStringBuilder(Postgres.Nodes[index].ConnectionString) { Host = Lab.NodeAddress(index) }.ConnectionString;

    public Process Agent(int index) => _agents[index];

    /// <summary>Starts the fleet; <paramref name="logLevel"/> is the aggregator's and the agents' (they log to the console and to <paramref name="log"/>).</summary>
    public static async Task<NamespaceFleet> StartAsync(bool synchronous, Action<string> log, string logLevel = "Warning")
    {
        ChaosFleet.EnsureThreads();
        var lab = NetworkLab.Create(3, log);
        LocalPostgresCluster? postgres = null;
        NamespaceFleet? fleet = null;
        try
        {
            postgres = await LocalPostgresCluster.StartAsync(new PostgresClusterOptions
            {
                ReplicaCount = 2,
                Synchronous = synchronous ? SynchronousReplication.FirstReplica : SynchronousReplication.Off,
                Log = line => log("  postgres: " + line),
            }).WaitAsync(StartTimeout);
            await MoveIntoNamespacesAsync(lab, postgres, log);
            var work = Directory.CreateTempSubdirectory("fleet-netns-").FullName;
            fleet = new NamespaceFleet(lab, postgres, Random.Shared.Next(20000, 30000), work, log, logLevel);
            await fleet.StartAggregatorAsync();
            for (var i = 0; i < 3; i++)
            {
                fleet.StartAgent(i);
            }

            await fleet.WaitUntilAsync(
                c => c.Summary.Primary == "node0" && c.Summary.StreamingReplicaCount == 2 && c.Nodes.Count == 3 && c.Nodes.All(n => n.Presence == AgentPresence.Connected),
                "primary node0 with two streaming replicas, every agent connected", StartTimeout);
            return fleet;
        }
        catch
        {
            if (fleet is not null)
            {
                await fleet.DisposeAsync();
            }
            else
            {
                if (postgres is not null)
                {
                    await postgres.DisposeAsync();
                }

                await lab.DisposeAsync();
            }

            throw;
        }
    }

    /// <summary>SIGSTOP (or SIGCONT) of node <paramref name="index"/>'s agent process.</summary>
    public void SignalAgent(int index, string signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", _agents[index].Id.ToString(CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        _log($"agent of node{index}: SIG{signal}");
    }

    public Task<Cluster> GetClusterAsync() => _probe.GetClusterAsync();

    public Task<IReadOnlyList<Event>> EventsAsync() => _probe.EventsAsync();

    public Task<Cluster> WaitUntilAsync(Func<Cluster, bool> condition, string what, TimeSpan timeout) => _probe.WaitUntilAsync(condition, what, timeout);

    public async ValueTask DisposeAsync()
    {
        foreach (var agent in _agents)
        {
            try
            {
                if (!agent.HasExited)
                {
                    agent.Kill(entireProcessTree: true);
                    await agent.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
                }
            }
            catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception)
            {
                _log($"agent {agent.Id}: {ex.Message}");
            }

            agent.Dispose();
        }

        Channel.Dispose();
        if (_aggregator is not null)
        {
            await _aggregator.StopAsync().WaitAsync(TimeSpan.FromSeconds(10));
            await _aggregator.DisposeAsync();
        }

        await Postgres.DisposeAsync();
        await Lab.DisposeAsync();
        try
        {
            Directory.Delete(_workDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>
    /// The cluster was built on loopback (initdb, pg_basebackup); each server now listens on every address
    /// of its namespace, accepts the lab's subnet, and the replicas stream from node0's namespace address.
    /// </summary>
    private static async Task MoveIntoNamespacesAsync(NetworkLab lab, LocalPostgresCluster postgres, Action<string> log)
    {
        var primaryAddress = lab.NodeAddress(0);
        foreach (var node in postgres.Nodes)
        {
            await using var connection = await node.OpenConnectionAsync();
            await ExecuteAsync(connection, "ALTER SYSTEM SET listen_addresses = '*'");
            if (node != postgres.Primary)
            {
                await using var show = new NpgsqlCommand("SHOW primary_conninfo", connection);
                var conninfo = (string)(await show.ExecuteScalarAsync())!;
                var moved = System.Text.RegularExpressions.Regex.Replace(conninfo, @"host=\S+", $"host={primaryAddress}");
                await ExecuteAsync(connection, $"ALTER SYSTEM SET primary_conninfo = '{moved.Replace("'", "''", StringComparison.Ordinal)}'");
            }

            await File.AppendAllTextAsync(Path.Combine(node.DataDirectory, "pg_hba.conf"),
                $"\nhost all all {lab.Subnet}.0/24 trust\nhost replication all {lab.Subnet}.0/24 trust\n");
        }

        foreach (var node in postgres.Nodes.Reverse())
        {
            await node.StopAsync();
        }

        for (var i = 0; i < postgres.Nodes.Count; i++)
        {
            postgres.Nodes[i].NetworkNamespace = lab.Namespace(i);
            await postgres.Nodes[i].StartAsync();
        }

        log($"postgres: node0..node{postgres.Nodes.Count - 1} run in their namespaces at {string.Join(", ", postgres.Nodes.Select((n, i) => $"{lab.NodeAddress(i)}:{n.Port}"))}");
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private async Task StartAggregatorAsync()
    {
        _aggregator = AggregatorHost.Build(null, new Dictionary<string, string?>
        {
            ["Region"] = "local",
            ["InstanceId"] = "netns-aggregator",
            ["Listen:Grpc"] = $"{Lab.AggregatorAddress}:{AggregatorPort}",
            ["Listen:Http"] = $"{Lab.AggregatorAddress}:{AggregatorPort + 1}",
            ["Store:Path"] = Path.Combine(_workDirectory, "fleet-aggregator.db"),
            ["Logging:LogLevel:Default"] = _logLevel,
        }, embedded: true);
        await _aggregator.StartAsync();
    }

    private void StartAgent(int index)
    {
        var node = Postgres.Nodes[index];
        var settings = new Dictionary<string, string>
        {
            ["Node__Name"] = node.Name,
            ["Node__Cluster"] = ClusterName,
            ["Node__Region"] = "local",
            ["Node__Zone"] = "zone-" + (char)('a' + index),
            ["Postgres__Host"] = "127.0.0.1",
            ["Postgres__Port"] = node.Port.ToString(CultureInfo.InvariantCulture),
            ["Postgres__User"] = "postgres",
            ["Postgres__DataDirectory"] = node.DataDirectory,
            ["Postgres__BinDirectory"] = Postgres.BinDirectory,
            ["Replication__Host"] = Lab.NodeAddress(index),
            ["Aggregator__Endpoints__0"] = $"http://{Lab.AggregatorAddress}:{AggregatorPort}",
            ["Listen__Grpc"] = "127.0.0.1:7400",
            ["Listen__Http"] = "127.0.0.1:8008",
            ["Logging__LogLevel__Default"] = _logLevel,
        };
        var start = new ProcessStartInfo("ip")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = _workDirectory,
        };
        foreach (var argument in (string[])["netns", "exec", Lab.Namespace(index), .. Fleet.Testing.AgentExecutable.Command])
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in settings)
        {
            start.Environment["FLEET_AGENT_" + key] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("fleet-agent could not be started");
        var prefix = $"  agent node{index}: ";
        process.OutputDataReceived += (_, e) => Forward(prefix, e.Data);
        process.ErrorDataReceived += (_, e) => Forward(prefix, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _agents.Add(process);
    }

    private void Forward(string prefix, string? line)
    {
        if (line is not null)
        {
            _log(prefix + line);
        }
    }
}
