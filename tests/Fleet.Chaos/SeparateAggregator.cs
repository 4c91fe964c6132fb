using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Fleet.LocalFleet.Postgres;
using Fleet.Testing;
using Fleet.Testing.Etcd;

namespace Fleet.Chaos;

/// <summary>
/// A fleet-aggregator in its own process, in Coordination:Mode Etcd: started before a fleet's own aggregator,
/// it is elected and leads, and it can be SIGKILLed as a crash ends it (no lease revoked, no connection closed
/// cleanly). Its store is a temporary directory, removed on dispose.
/// </summary>
public sealed class SeparateAggregator : IAsyncDisposable
{
    private readonly ChildDaemon _process;
    private readonly string _directory;
    private readonly string _name;

    private SeparateAggregator(string name, ChildDaemon process, string directory, int grpcPort)
    {
        (_name, _process, _directory) = (name, process, directory);
        Grpc = new Uri($"http://127.0.0.1:{grpcPort}/");
        Http = new Uri($"http://127.0.0.1:{grpcPort + 1}/");
    }

    public Uri Grpc { get; }

    public Uri Http { get; }

    /// <summary>Its console log (warnings and above: failover decisions, completions, failures).</summary>
    public string Output => _process.Output;

    /// <summary>
    /// Coordination keys of an aggregator named <paramref name="name"/> on <paramref name="etcd"/>. <paramref name="fast"/>
    /// shortens the timings for tests (lease TTL 2 s, renewals every 300 ms, margin 1 s); otherwise the defaults (6 s, 1 s, 2 s).
    /// </summary>
    public static Dictionary<string, string?> Coordination(string name, string prefix, EtcdCluster etcd, bool fast)
    {
        ArgumentNullException.ThrowIfNull(etcd);
        var settings = new Dictionary<string, string?>
        {
            ["Coordination:Mode"] = "Etcd",
            ["Coordination:Name"] = name,
            ["Coordination:Etcd:Prefix"] = prefix,
        };
        if (fast)
        {
            settings["Coordination:Etcd:LeaseTtl"] = "00:00:02";
            settings["Coordination:Etcd:RenewInterval"] = "00:00:00.3";
            settings["Coordination:Etcd:RequestTimeout"] = "00:00:00.3";
            settings["Coordination:Etcd:StepDownMargin"] = "00:00:01";
        }

        for (var i = 0; i < etcd.Endpoints.Count; i++)
        {
            settings[$"Coordination:Etcd:Endpoints:{i.ToString(CultureInfo.InvariantCulture)}"] = etcd.Endpoints[i];
        }

        return settings;
    }

    /// <summary>Starts it and returns once it leads <paramref name="region"/> (it must be the first aggregator on this prefix).</summary>
    public static async Task<SeparateAggregator> StartLeaderAsync(string name, string region, string prefix, EtcdCluster etcd, bool fast)
    {
        var port = FreeTcpPort.PickConsecutive(2);
        var directory = Directory.CreateTempSubdirectory("fleet-separate-aggregator-").FullName;
        var environment = new Dictionary<string, string>
        {
            ["FLEET_AGGREGATOR_Region"] = region,
            ["FLEET_AGGREGATOR_InstanceId"] = name,
            ["FLEET_AGGREGATOR_Listen__Grpc"] = $"127.0.0.1:{port}",
            ["FLEET_AGGREGATOR_Listen__Http"] = $"127.0.0.1:{port + 1}",
            ["FLEET_AGGREGATOR_Store__Path"] = Path.Combine(directory, "aggregator.db"),
            ["FLEET_AGGREGATOR_Logging__Console__LogLevel__Default"] = "Warning",
        };
        foreach (var (key, value) in Coordination(name, prefix, etcd, fast))
        {
            environment["FLEET_AGGREGATOR_" + key.Replace(":", "__", StringComparison.Ordinal)] = value!;
        }

        var aggregator = new SeparateAggregator(name, ChildDaemon.Start("fleet-aggregator.dll", [], environment), directory, port);
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while ((await LeadershipAsync(http, aggregator.Http))?.GetProperty("isLeader").GetBoolean() != true)
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"{name} did not become the leader within 30 s:\n{aggregator.Output}");
                }

                await Task.Delay(100);
            }

            return aggregator;
        }
        catch
        {
            await aggregator.DisposeAsync();
            throw;
        }
    }

    /// <summary>GET /api/v1/leadership of an aggregator; null while it does not answer.</summary>
    public static async Task<JsonElement?> LeadershipAsync(HttpClient http, Uri aggregatorHttp)
    {
        ArgumentNullException.ThrowIfNull(http);
        try
        {
            return await http.GetFromJsonAsync<JsonElement>(new Uri(aggregatorHttp, "/api/v1/leadership"));
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    /// <summary>
    /// Waits until the fleet's own aggregator (at <paramref name="followerHttp"/>) names this one as leader and this one
    /// holds <paramref name="agents"/> connected agents of <paramref name="cluster"/>: it is the one that decides.
    /// </summary>
    public async Task WaitUntilLeadingAsync(Uri followerHttp, string cluster, int agents, TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + timeout;
        while (!(await LeadershipAsync(http, followerHttp) is { } seen && seen.GetProperty("leader").GetString() == _name && await ConnectedAgentsAsync(http, cluster) == agents))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the fleet's aggregator does not follow {_name}, or {_name} does not hold {agents} agents of {cluster}:\n{Output}");
            }

            await Task.Delay(100);
        }
    }

    private async Task<int> ConnectedAgentsAsync(HttpClient http, string cluster)
    {
        try
        {
            var view = await http.GetFromJsonAsync<JsonElement>(new Uri(Http, $"/api/v1/clusters/{cluster}"));
            return view.GetProperty("nodes").EnumerateArray().Count(n => n.TryGetProperty("presence", out var presence) && presence.GetString() == "AGENT_PRESENCE_CONNECTED");
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return 0;
        }
    }

    /// <summary>SIGKILL; returns once the process is gone.</summary>
    public Task KillAsync() => _process.KillAsync();

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temporary directory.
        }
    }
}
