using System.Net;
using System.Net.Sockets;
using Fleet.Agent;
using Fleet.Aggregator;
using Fleet.LocalFleet.Postgres;
using Microsoft.AspNetCore.Builder;

namespace Fleet.LocalFleet;

/// <summary>
/// A whole fleet on this machine: PostgreSQL primary + replicas (streaming, physical slots, WAL
/// archive), one fleet-agent per node and one fleet-aggregator, all on loopback. Dispose stops
/// everything, Postgres included.
/// </summary>
public sealed class LocalFleet : IAsyncDisposable
{
    private readonly List<WebApplication> _agents = [];
    private readonly string _dataDirectory;
    private readonly bool _ownsDataDirectory;
    private WebApplication? _aggregator;
    private LocalPostgresCluster? _postgres;

    private LocalFleet(LocalFleetOptions options)
    {
        Options = options;
        _ownsDataDirectory = options.DataDirectory is null;
        _dataDirectory = options.DataDirectory ?? Directory.CreateTempSubdirectory("fleet-local-").FullName;
    }

    public LocalFleetOptions Options { get; }

    public IPostgresCluster Postgres => _postgres ?? throw new InvalidOperationException("The fleet is not started.");

    public Uri AggregatorGrpc => new($"http://127.0.0.1:{Options.AggregatorGrpcPort}");

    public Uri AggregatorHttp => new($"http://127.0.0.1:{Options.AggregatorHttpPort}");

    public IReadOnlyList<WebApplication> Agents => _agents;

    public WebApplication Aggregator => _aggregator ?? throw new InvalidOperationException("The fleet is not started.");

    public Uri AgentGrpc(int index) => new($"http://127.0.0.1:{Options.AgentGrpcBasePort + index}");

    public Uri AgentHttp(int index) => new($"http://127.0.0.1:{Options.AgentHttpBasePort + index}");

    /// <summary>Starts Postgres, the aggregator, then the agents; reports progress through <paramref name="log"/>.</summary>
    public static async Task<LocalFleet> StartAsync(LocalFleetOptions options, Action<string> log, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(log);
        EnsurePortsFree(options);
        var fleet = new LocalFleet(options);
        try
        {
            log($"starting PostgreSQL: primary + {options.Replicas} replicas{(options.Synchronous ? " (synchronous)" : string.Empty)} with a WAL archive");
            fleet._postgres = await LocalPostgresCluster.StartAsync(
                new PostgresClusterOptions
                {
                    ReplicaCount = options.Replicas,
                    Synchronous = options.Synchronous ? SynchronousReplication.FirstReplica : SynchronousReplication.Off,
                    Log = line => log("  postgres: " + line),
                },
                cancellationToken);

            log($"starting fleet-aggregator (region {options.Region}) on {fleet.AggregatorGrpc} (gRPC) and {fleet.AggregatorHttp} (HTTP)");
            fleet._aggregator = AggregatorHost.Build(null, fleet.AggregatorSettings());
            await fleet._aggregator.StartAsync(cancellationToken);

            for (var i = 0; i < fleet._postgres.Nodes.Count; i++)
            {
                var node = fleet._postgres.Nodes[i];
                log($"starting fleet-agent for {node.Name} (postgres :{node.Port}) on {fleet.AgentGrpc(i)} (gRPC) and {fleet.AgentHttp(i)} (HTTP)");
                var agent = AgentHost.Build(null, fleet.AgentSettings(i, node));
                await agent.StartAsync(cancellationToken);
                fleet._agents.Add(agent);
            }

            return fleet;
        }
        catch
        {
            await fleet.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        foreach (var agent in _agents)
        {
            await StopQuietlyAsync(agent, timeout.Token);
        }

        _agents.Clear();
        if (_aggregator is not null)
        {
            await StopQuietlyAsync(_aggregator, timeout.Token);
            _aggregator = null;
        }

        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
            _postgres = null;
        }

        if (_ownsDataDirectory && Directory.Exists(_dataDirectory))
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }

    private Dictionary<string, string?> AggregatorSettings()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Region"] = Options.Region,
            ["InstanceId"] = "local-aggregator",
            ["Listen:Grpc"] = $"127.0.0.1:{Options.AggregatorGrpcPort}",
            ["Listen:Http"] = $"127.0.0.1:{Options.AggregatorHttpPort}",
            ["Store:Path"] = Path.Combine(_dataDirectory, "fleet-aggregator.db"),
            ["Logging:LogLevel:Default"] = Options.LogLevel,
        };
        foreach (var (key, value) in Options.AggregatorSettings)
        {
            settings[key] = value;
        }

        return settings;
    }

    private Dictionary<string, string?> AgentSettings(int index, IPostgresNode node)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Node:Name"] = node.Name,
            ["Node:Cluster"] = Options.Cluster,
            ["Node:Region"] = Options.Region,
            ["Node:Zone"] = "zone-" + (char)('a' + index),
            ["Postgres:Host"] = node.Host,
            ["Postgres:Port"] = node.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Postgres:User"] = "postgres",
            ["Postgres:DataDirectory"] = node.DataDirectory,
            ["Postgres:BinDirectory"] = Postgres.BinDirectory,
            ["Archive:Location"] = Postgres.ArchiveDirectory,
            ["Archive:Region"] = Options.Region,
            ["Aggregator:Endpoints:0"] = AggregatorGrpc.ToString(),
            ["Listen:Grpc"] = $"127.0.0.1:{Options.AgentGrpcBasePort + index}",
            ["Listen:Http"] = $"127.0.0.1:{Options.AgentHttpBasePort + index}",
            ["Logging:LogLevel:Default"] = Options.LogLevel,
        };
        foreach (var (key, value) in Options.AgentSettings)
        {
            settings[key] = value;
        }

        return settings;
    }

    private static void EnsurePortsFree(LocalFleetOptions options)
    {
        var ports = new List<(int Port, string What)>
        {
            (options.AggregatorGrpcPort, "aggregator gRPC"),
            (options.AggregatorHttpPort, "aggregator HTTP"),
        };
        for (var i = 0; i <= options.Replicas; i++)
        {
            ports.Add((options.AgentGrpcBasePort + i, $"agent {i} gRPC"));
            ports.Add((options.AgentHttpBasePort + i, $"agent {i} HTTP"));
        }

        var duplicate = ports.GroupBy(p => p.Port).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new ArgumentException($"Port {duplicate.Key} is used twice ({string.Join(", ", duplicate.Select(p => p.What))}); choose other base ports.");
        }

        foreach (var (port, what) in ports)
        {
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
            }
            catch (SocketException)
            {
                throw new InvalidOperationException($"Port {port} ({what}) is already in use on 127.0.0.1. Stop what uses it or choose other ports (see fleetctl local --help).");
            }
        }
    }

    private static async Task StopQuietlyAsync(WebApplication app, CancellationToken cancellationToken)
    {
        try
        {
            await app.StopAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Shutdown took too long; disposing below ends it regardless.
        }

        await app.DisposeAsync();
    }
}
