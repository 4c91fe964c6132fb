using System.Diagnostics;
using System.Globalization;
using Fleet.Bench.Agent.Measurement;
using Fleet.LocalFleet.Postgres;

namespace Fleet.Bench.Agent.Processes;

/// <summary>One GET /metrics of the exporter: client-side wall time and the parsed exposition.</summary>
internal sealed record ScrapeResult(double WallMs, PromText Metrics);

/// <summary>
/// prometheus-postgres-exporter as a child process with its default collectors (no flags but the listen
/// address), DATA_SOURCE_NAME pointing at the bench database.
/// </summary>
internal sealed class ExporterProcess : IDisposable
{
    private readonly BenchChild _child;
    private readonly HttpClient _http;

    private ExporterProcess(BenchChild child, HttpClient http, int port)
    {
        _child = child;
        _http = http;
        Port = port;
    }

    public int Pid => _child.Pid;

    public int Port { get; }

    public string MetricsUrl => $"http://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}/metrics";

    public static ExporterProcess Start(string executable, string dataSourceName, HttpClient http)
    {
        var port = FreeTcpPort.Pick();
        var child = BenchChild.Start(
            "postgres_exporter",
            executable,
            [$"--web.listen-address=127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}"],
            new Dictionary<string, string> { ["DATA_SOURCE_NAME"] = dataSourceName });
        return new ExporterProcess(child, http, port);
    }

    /// <summary>Waits until the listener answers (GET / does not touch PostgreSQL).</summary>
    public async Task WaitListeningAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        var root = $"http://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}/";
        while (true)
        {
            if (_child.HasExited)
            {
                throw new InvalidOperationException($"postgres_exporter exited during start-up:{Environment.NewLine}{_child.OutputTail()}");
            }

            try
            {
                using var response = await _http.GetAsync(root, cancellationToken);
                return;
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100, cancellationToken);
            }
        }
    }

    public async Task<ScrapeResult> ScrapeAsync(CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        var text = await _http.GetStringAsync(MetricsUrl, cancellationToken);
        var wall = stopwatch.Elapsed.TotalMilliseconds;
        return new ScrapeResult(wall, PromText.Parse(text));
    }

    public string OutputTail() => _child.OutputTail();

    public Task StopAsync() => _child.StopAsync(TimeSpan.FromSeconds(5));

    public void Dispose() => _child.Dispose();
}
