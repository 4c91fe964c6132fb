using System.Globalization;
using Fleet.Agent;
using Fleet.LocalFleet.Postgres;
using Fleet.Protos.V1;
using Fleet.Testing;
using Fleet.Testing.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using LocalFleetHost = Fleet.LocalFleet.LocalFleet;
using LocalFleetOptions = Fleet.LocalFleet.LocalFleetOptions;

namespace Fleet.EndToEnd.Tests.Infrastructure;

/// <summary>
/// A whole local fleet (PostgreSQL primary + two replicas with a WAL archive, three agents, one
/// aggregator) on free loopback ports, started once per test class or collection. Subclasses tune the
/// durations. Start-up waits until the aggregator shows the cluster whole, so tests start from a known
/// state; the aggregator's log entries (Warning and above) are kept for assertions.
/// </summary>
public class FleetFixture : IAsyncLifetime
{
    public const string Cluster = "demo";
    public const string Region = "local";
    public const string Primary = "node0";
    public static readonly string[] NodeNames = ["node0", "node1", "node2"];

    /// <summary>Generous: three PostgreSQL servers from initdb on two busy cores.</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(150);

    /// <summary>For conditions the fleet reaches within a few report intervals.</summary>
    public static readonly TimeSpan ConditionTimeout = TimeSpan.FromSeconds(45);

    private const int FleetPorts = 8;
    private const int ExtraAgentSlots = 4;

    private readonly List<string> _startLog = [];
    private readonly Lock _gate = new();
    private LocalFleetHost? _fleet;
    private int _firstPort;
    private int _nextExtraSlot;

    public LocalFleetHost Fleet => _fleet ?? throw new InvalidOperationException("The fleet is not started.");

    /// <summary>Warning-and-above entries the aggregator logged since start-up.</summary>
    public CollectingLoggerProvider AggregatorLogs { get; } = new();

    public FleetServiceClient Api { get; private set; } = null!;

    public LinkProbe Link { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public LocalFleetOptions Options { get; private set; } = null!;

    /// <summary>When the fleet started (before any of its nodes appeared).</summary>
    public DateTimeOffset StartedAt { get; private set; }

    /// <summary>Aggregator settings on top of LocalFleet's (Region, listeners, Store:Path).</summary>
    protected virtual Dictionary<string, string?> AggregatorSettings() => [];

    /// <summary>Settings for every agent on top of LocalFleet's.</summary>
    protected virtual Dictionary<string, string?> AgentSettings() => [];

    /// <summary>Where the aggregator's store lives; null lets LocalFleet use a temporary directory.</summary>
    protected virtual string? DataDirectory => null;

    public async Task InitializeAsync()
    {
        // Free ports are checked, then bound a moment later: another process can take one in between. Such a
        // start is retried on other ports (nothing was started: LocalFleet checks every port first).
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await TryStartAsync();
                break;
            }
            catch (Exception ex) when (attempt < PortConflicts.MaxStartAttempts && PortConflicts.IsAddressInUse(ex))
            {
                Log($"a port was taken while the fleet started ({ex.InnerException?.Message ?? ex.Message}); retrying on other ports");
            }
        }

        AttachAggregatorLogs(_fleet!.Aggregator);
        ConnectClients();
        Http = new HttpClient { BaseAddress = _fleet.AggregatorHttp, Timeout = TimeSpan.FromSeconds(10) };
        try
        {
            await WaitUntilWholeAsync();
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    private async Task TryStartAsync()
    {
        _firstPort = FreeTcpPort.PickConsecutive(FleetPorts + (2 * ExtraAgentSlots));
        var aggregatorSettings = new Dictionary<string, string?>
        {
            // The test keeps the aggregator's log; the console only gets errors.
            ["Logging:Console:LogLevel:Default"] = "Error",
        };
        foreach (var (key, value) in AggregatorSettings())
        {
            aggregatorSettings[key] = value;
        }

        Options = new LocalFleetOptions
        {
            Region = Region,
            Cluster = Cluster,
            Replicas = 2,
            AggregatorGrpcPort = _firstPort,
            AggregatorHttpPort = _firstPort + 1,
            AgentGrpcBasePort = _firstPort + 2,
            AgentHttpBasePort = _firstPort + 5,
            DataDirectory = DataDirectory,
            LogLevel = "Warning",
            AggregatorSettings = aggregatorSettings,
            AgentSettings = AgentSettings(),
        };

        using var timeout = new CancellationTokenSource(StartTimeout);
        StartedAt = DateTimeOffset.UtcNow;
        try
        {
            _fleet = await LocalFleetHost.StartAsync(Options, Log, timeout.Token);
        }
        catch (Exception ex)
        {
            throw new InvalidOperationException($"The local fleet did not start:\n{StartLog()}", ex);
        }
    }

    /// <summary>
    /// Opens the test's gRPC clients (new channels) to the aggregator's port. After the aggregator was
    /// replaced, callers reconnect as fleetctl does on each run: a pooled connection to the stopped server
    /// may not yet be seen as closed by the client, and a call sent on it fails.
    /// </summary>
    protected void ConnectClients()
    {
        Api?.Dispose();
        Link?.Dispose();
        Api = new FleetServiceClient(Fleet.AggregatorGrpc);
        Link = new LinkProbe(Fleet.AggregatorGrpc);
    }

    public virtual async Task DisposeAsync()
    {
        Api?.Dispose();
        Link?.Dispose();
        Http?.Dispose();
        var fleet = Interlocked.Exchange(ref _fleet, null);
        if (fleet is not null)
        {
            await fleet.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(90));
        }
    }

    /// <summary>Starts the log capture of an aggregator app (the fleet's, or one a test built).</summary>
    public void AttachAggregatorLogs(WebApplication aggregator) =>
        aggregator.Services.GetRequiredService<ILoggerFactory>().AddProvider(AggregatorLogs);

    /// <summary>Typed AgentService client of the fleet's agent <paramref name="index"/> (0 = node0).</summary>
    public AgentServiceClient AgentClient(int index) => new(Fleet.AgentGrpc(index));

    /// <summary>
    /// Starts one more agent next to the fleet's, with the fleet's agent settings changed by
    /// <paramref name="overrides"/>, on reserved ports. Dispose it to stop it.
    /// </summary>
    public async Task<ExtraAgent> StartExtraAgentAsync(int postgresNode, IReadOnlyDictionary<string, string?> overrides)
    {
        int slot;
        lock (_gate)
        {
            slot = _nextExtraSlot++;
        }

        if (slot >= ExtraAgentSlots)
        {
            throw new InvalidOperationException($"Only {ExtraAgentSlots} extra agents per fixture have reserved ports.");
        }

        var grpcPort = _firstPort + FleetPorts + (2 * slot);
        var httpPort = grpcPort + 1;
        var node = Fleet.Postgres.Nodes[postgresNode];
        var settings = new Dictionary<string, string?>
        {
            ["Node:Name"] = node.Name,
            ["Node:Cluster"] = Cluster,
            ["Node:Region"] = Region,
            ["Node:Zone"] = "zone-extra",
            ["Postgres:Host"] = node.Host,
            ["Postgres:Port"] = node.Port.ToString(CultureInfo.InvariantCulture),
            ["Postgres:User"] = "postgres",
            ["Postgres:DataDirectory"] = node.DataDirectory,
            ["Postgres:BinDirectory"] = Fleet.Postgres.BinDirectory,
            ["Archive:Location"] = Fleet.Postgres.ArchiveDirectory,
            ["Archive:Region"] = Region,
            ["Aggregator:Endpoints:0"] = Fleet.AggregatorGrpc.ToString(),
            ["Listen:Grpc"] = $"127.0.0.1:{grpcPort}",
            ["Listen:Http"] = $"127.0.0.1:{httpPort}",
            ["Logging:LogLevel:Default"] = "Error",
        };
        foreach (var (key, value) in Options.AgentSettings)
        {
            settings[key] = value;
        }

        foreach (var (key, value) in overrides)
        {
            settings[key] = value;
        }

        var app = AgentHost.Build(null, settings);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await app.StartAsync(timeout.Token);
        return new ExtraAgent(app, new AgentServiceClient(new Uri($"http://127.0.0.1:{grpcPort}")));
    }

    /// <summary>Reads one sample of the aggregator's /metrics, e.g. <c>fleet_ingest_agents_refused_total{reason="region"}</c>.</summary>
    public async Task<double> ReadMetricAsync(string sample)
    {
        var text = await Http.GetStringAsync("/metrics");
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith(sample + " ", StringComparison.Ordinal))
            {
                return double.Parse(line[(sample.Length + 1)..], CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"/metrics has no sample '{sample}':\n{text}");
    }

    /// <summary>The cluster as it should be: node0 primary, node1 and node2 streaming from it, everyone connected and up.</summary>
    public static bool IsWhole(Cluster cluster) =>
        cluster.Summary.Primary == Primary
        && cluster.Summary.ConnectedNodeCount == 3
        && cluster.Summary.StreamingReplicaCount == 2
        && cluster.Nodes.Count == 3
        && cluster.Nodes.All(n => n.Presence == AgentPresence.Connected && n.PostgresState == PostgresState.Up)
        && cluster.Nodes.Where(n => n.Identity.Name != Primary).All(n => n.Role == NodeRole.Replica && n.Upstream == Primary);

    public static string Describe(Cluster cluster) =>
        $"primary '{cluster.Summary.Primary}', {cluster.Summary.ConnectedNodeCount} connected, {cluster.Summary.StreamingReplicaCount} streaming; " +
        string.Join("; ", cluster.Nodes.Select(n => $"{n.Identity.Name}: {n.Role} {n.PostgresState} {n.Presence} upstream '{n.Upstream}' last report {n.LastReportAt}"));

    /// <summary>Waits until the aggregator shows the cluster whole (see <see cref="IsWhole"/>).</summary>
    public Task<Cluster> WaitUntilWholeAsync() =>
        Poll.UntilAsync(() => Api.GetClusterAsync(Cluster), IsWhole, ConditionTimeout, $"cluster '{Cluster}' to be whole", Describe);

    /// <summary>
    /// Waits until every node of the cluster has reported after <paramref name="after"/>: their agents
    /// are connected and still reporting.
    /// </summary>
    public Task<Cluster> WaitForReportsAfterAsync(DateTimeOffset after) =>
        Poll.UntilAsync(
            () => Api.GetClusterAsync(Cluster),
            c => IsWhole(c) && c.Nodes.All(n => n.LastReportAt is { } at && at.ToDateTimeOffset() > after),
            ConditionTimeout,
            $"every node of '{Cluster}' to report after {after:HH:mm:ss.fff}",
            Describe);

    private void Log(string line)
    {
        lock (_gate)
        {
            _startLog.Add($"{DateTime.UtcNow:HH:mm:ss.fff} {line}");
        }
    }

    private string StartLog()
    {
        lock (_gate)
        {
            return string.Join('\n', _startLog);
        }
    }
}

/// <summary>An agent started by a test next to the fleet's own; disposing stops it.</summary>
public sealed class ExtraAgent(WebApplication app, AgentServiceClient client) : IAsyncDisposable
{
    public AgentServiceClient Client { get; } = client;

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            await app.StopAsync(timeout.Token);
        }
        finally
        {
            await app.DisposeAsync();
        }
    }
}
