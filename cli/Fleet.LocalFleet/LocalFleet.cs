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
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    private readonly List<WebApplication> _agents = [];
    // Serialises the start/stop hooks below with each other and with disposal.
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
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

    /// <summary>Agent hosts by node index; <see cref="StartAgentAsync"/> replaces an entry.</summary>
    public IReadOnlyList<WebApplication> Agents => _agents;

    /// <summary>The running aggregator host (replaced by <see cref="RestartAggregatorAsync"/>).</summary>
    public WebApplication Aggregator => _aggregator ?? throw new InvalidOperationException("The aggregator is not running (the fleet is not started, or it was stopped).");

    public Uri AgentGrpc(int index) => new($"http://127.0.0.1:{Options.AgentGrpcBasePort + index}");

    public Uri AgentHttp(int index) => new($"http://127.0.0.1:{Options.AgentHttpBasePort + index}");

    /// <summary>The aggregator endpoint agent <paramref name="index"/> dials (see <see cref="LocalFleetOptions.AgentAggregatorEndpoint"/>).</summary>
    public Uri AgentAggregatorEndpoint(int index) => Options.AgentAggregatorEndpoint?.Invoke(index) ?? AggregatorGrpc;

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
                    PrimaryWalDirectory = options.PrimaryWalDirectory,
                    // The standards' recovery point objective: a quiet primary still archives a segment a minute,
                    // so the archive rules (rpo_exposure_high) judge a healthy fleet healthy.
                    ExtraSettings = new Dictionary<string, string> { ["archive_timeout"] = "60s" },
                    Log = line => log("  postgres: " + line),
                },
                cancellationToken);

            log($"starting fleet-aggregator (region {options.Region}) on {fleet.AggregatorGrpc} (gRPC) and {fleet.AggregatorHttp} (HTTP)");
            fleet._aggregator = await fleet.StartAggregatorHostAsync(cancellationToken);

            for (var i = 0; i < fleet._postgres.Nodes.Count; i++)
            {
                var node = fleet._postgres.Nodes[i];
                log($"starting fleet-agent for {node.Name} (postgres :{node.Port}) on {fleet.AgentGrpc(i)} (gRPC) and {fleet.AgentHttp(i)} (HTTP)" +
                    (fleet.AgentAggregatorEndpoint(i) == fleet.AggregatorGrpc ? string.Empty : $", dialling the aggregator through {fleet.AgentAggregatorEndpoint(i)}"));
                fleet._agents.Add(await fleet.StartAgentHostAsync(i, cancellationToken));
            }

            return fleet;
        }
        catch
        {
            await fleet.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Stops the in-process aggregator (its agents' links drop and they keep redialling). Its SQLite store
    /// stays; <see cref="StartAggregatorAsync"/> starts a new one on it. No-op when it is stopped.
    /// </summary>
    public async Task StopAggregatorAsync(CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(cancellationToken);
        try
        {
            if (_aggregator is { } aggregator)
            {
                _aggregator = null;
                using var timeout = new CancellationTokenSource(StopTimeout);
                await StopQuietlyAsync(aggregator, timeout.Token);
            }
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>
    /// Builds and starts a new aggregator with the same settings (same SQLite store, same ports), as a
    /// restarted fleet-aggregator process would be. Throws if one is running.
    /// </summary>
    public async Task StartAggregatorAsync(CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(cancellationToken);
        try
        {
            EnsureStarted();
            if (_aggregator is not null)
            {
                throw new InvalidOperationException("The aggregator is running; stop it first (or use RestartAggregatorAsync).");
            }

            _aggregator = await StartAggregatorHostAsync(cancellationToken);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Stops the aggregator and starts a new one with the same settings and store.</summary>
    public async Task RestartAggregatorAsync(CancellationToken cancellationToken = default)
    {
        await StopAggregatorAsync(cancellationToken);
        await StartAggregatorAsync(cancellationToken);
    }

    /// <summary>
    /// Starts agent <paramref name="index"/> again after <c>Agents[index].StopAsync()</c> (or stops the running
    /// one first): a new host with the same settings (same ports, same state directory, so the same persisted
    /// epoch) replaces it in <see cref="Agents"/>. It does not start Postgres.
    /// </summary>
    public async Task StartAgentAsync(int index, CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(cancellationToken);
        try
        {
            EnsureStarted();
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _agents.Count);
            var old = _agents[index];
            using (var timeout = new CancellationTokenSource(StopTimeout))
            {
                await StopQuietlyAsync(old, timeout.Token);
            }

            _agents[index] = await StartAgentHostAsync(index, cancellationToken);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _lifecycle.WaitAsync();
        try
        {
            await DisposeCoreAsync();
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    private async Task DisposeCoreAsync()
    {
        using var timeout = new CancellationTokenSource(StopTimeout);
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

    private void EnsureStarted()
    {
        if (_postgres is null)
        {
            throw new InvalidOperationException("The fleet is not started (or was disposed).");
        }
    }

    private async Task<WebApplication> StartAggregatorHostAsync(CancellationToken cancellationToken)
    {
        var aggregator = AggregatorHost.Build(null, AggregatorSettings(), embedded: true);
        try
        {
            await aggregator.StartAsync(cancellationToken);
            return aggregator;
        }
        catch
        {
            await aggregator.DisposeAsync();
            throw;
        }
    }

    private async Task<WebApplication> StartAgentHostAsync(int index, CancellationToken cancellationToken)
    {
        var agent = AgentHost.Build(null, AgentSettings(index, Postgres.Nodes[index]), embedded: true);
        try
        {
            await agent.StartAsync(cancellationToken);
            return agent;
        }
        catch
        {
            await agent.DisposeAsync();
            throw;
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
            ["Aggregator:Endpoints:0"] = AgentAggregatorEndpoint(index).ToString(),
            ["Listen:Grpc"] = $"127.0.0.1:{Options.AgentGrpcBasePort + index}",
            ["Listen:Http"] = $"127.0.0.1:{Options.AgentHttpBasePort + index}",
            ["Logging:LogLevel:Default"] = Options.LogLevel,
            // The agents here share this process's heap with the aggregator and each other: the agent's own heap
            // trimming (forced gen0 collections per MiB allocated, aggressive compactions) is for a process of
            // its own, and three of them forcing collections of the whole process stalled everything in it.
            ["Memory:Gen0Budget"] = "0",
            ["Memory:CompactInterval"] = "00:00:00",
            ["Memory:TrimGrowth"] = "0",
        };
        if (Options.AgentReplicationPort?.Invoke(index, node) is { } replicationPort)
        {
            settings["Replication:Port"] = replicationPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

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
            // A host stopped already (a test called Agents[i].StopAsync()) is only disposed.
            if (!app.Lifetime.ApplicationStopped.IsCancellationRequested)
            {
                await app.StopAsync(cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
            // Shutdown took too long; disposing below ends it regardless.
        }

        await app.DisposeAsync();
    }
}
