using System.Globalization;
using System.Text.Json.Nodes;
using Fleet.Bench.Agent.Measurement;
using Fleet.Bench.Agent.Setup;
using Fleet.LocalFleet.Postgres;

namespace Fleet.Bench.Agent.Processes;

/// <summary>A fleet-agent build to run: `dotnet fleet-agent.dll` (framework-dependent) or the self-contained apphost.</summary>
internal sealed record AgentBinary(string Label, string Path, bool FrameworkDependent, long PublishBytes);

/// <summary>Collection settings of one agent run.</summary>
internal sealed record AgentSettings(TimeSpan Interval, TimeSpan SlowInterval, int TopTables = 10);

/// <summary>fleet-agent as a child process, standalone (no aggregator), watching the bench database over loopback TCP.</summary>
internal sealed class AgentProcess : IDisposable
{
    private readonly BenchChild _child;
    private readonly HttpClient _http;

    private AgentProcess(BenchChild child, HttpClient http, int httpPort, int grpcPort, AgentSettings settings)
    {
        _child = child;
        _http = http;
        HttpPort = httpPort;
        GrpcPort = grpcPort;
        Settings = settings;
    }

    public int Pid => _child.Pid;

    public string Label => _child.Label;

    public int HttpPort { get; }

    public int GrpcPort { get; }

    public AgentSettings Settings { get; }

    public string MetricsUrl => $"http://127.0.0.1:{HttpPort.ToString(CultureInfo.InvariantCulture)}/metrics";

    public static AgentProcess Start(
        AgentBinary binary, BenchPostgres postgres, AgentSettings settings, string runDirectory, HttpClient http,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var httpPort = FreeTcpPort.Pick();
        var grpcPort = FreeTcpPort.Pick();
        var config = new JsonObject
        {
            ["Node"] = new JsonObject { ["Name"] = "bench-node", ["Cluster"] = "bench", ["Region"] = "local", ["Zone"] = "a" },
            ["Postgres"] = new JsonObject
            {
                ["Host"] = postgres.Host,
                ["Port"] = postgres.Port,
                ["User"] = "postgres",
                ["Database"] = BenchPostgres.Database,
                ["DataDirectory"] = postgres.DataDirectory,
                ["BinDirectory"] = postgres.BinDirectory,
            },
            ["Listen"] = new JsonObject
            {
                ["Grpc"] = $"127.0.0.1:{grpcPort.ToString(CultureInfo.InvariantCulture)}",
                ["Http"] = $"127.0.0.1:{httpPort.ToString(CultureInfo.InvariantCulture)}",
            },
            ["Collection"] = new JsonObject
            {
                ["Interval"] = settings.Interval.ToString("c", CultureInfo.InvariantCulture),
                ["SlowInterval"] = settings.SlowInterval.ToString("c", CultureInfo.InvariantCulture),
                ["TopTables"] = settings.TopTables,
            },
        };
        var configFile = System.IO.Path.Combine(runDirectory, $"agent-{binary.Label}-{httpPort.ToString(CultureInfo.InvariantCulture)}.json");
        File.WriteAllText(configFile, config.ToJsonString());
        var child = binary.FrameworkDependent
            ? BenchChild.Start($"fleet-agent ({binary.Label})", "dotnet", [binary.Path, "--config", configFile], environment)
            : BenchChild.Start($"fleet-agent ({binary.Label})", binary.Path, ["--config", configFile], environment);
        return new AgentProcess(child, http, httpPort, grpcPort, settings);
    }

    public async Task<PromText> ScrapeAsync(CancellationToken cancellationToken)
    {
        var text = await _http.GetStringAsync(MetricsUrl, cancellationToken);
        return PromText.Parse(text);
    }

    /// <summary>Waits until the agent serves a snapshot with PostgreSQL up.</summary>
    public async Task WaitReadyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        string last = "no answer yet";
        while (DateTime.UtcNow < deadline)
        {
            if (_child.HasExited)
            {
                throw new InvalidOperationException($"{_child.Label} exited during start-up:{Environment.NewLine}{_child.OutputTail()}");
            }

            try
            {
                var metrics = await ScrapeAsync(cancellationToken);
                if (metrics.Value("fleet_pg_up") == 1 && metrics.Value("fleet_agent_snapshot_available") == 1)
                {
                    return;
                }

                last = $"fleet_pg_up={metrics.Value("fleet_pg_up")}";
            }
            catch (HttpRequestException e)
            {
                last = e.Message;
            }

            // 25 ms: the resolution of the start-up figure (a Native AOT agent is ready in a fraction of a second).
            await Task.Delay(25, cancellationToken);
        }

        throw new TimeoutException($"{_child.Label} not ready within {timeout.TotalSeconds} s ({last}):{Environment.NewLine}{_child.OutputTail()}");
    }

    public string OutputTail() => _child.OutputTail();

    public Task StopAsync() => _child.StopAsync(TimeSpan.FromSeconds(5));

    public void Dispose() => _child.Dispose();
}
