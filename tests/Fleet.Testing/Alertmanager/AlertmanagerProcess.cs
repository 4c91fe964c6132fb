using System.Globalization;
using System.Text.Json;
using Fleet.LocalFleet.Postgres;

namespace Fleet.Testing.Alertmanager;

/// <summary>
/// A real Prometheus Alertmanager for tests (Debian's prometheus-alertmanager, or FLEET_ALERTMANAGER) on a loopback
/// port, clustering off, routing every alert to one webhook receiver (grouped by alertname and cluster, resolved
/// notifications on). Its configuration and storage live in a temporary directory that disposal removes. It can be
/// started after the aggregator that sends to it (a receiver that was away).
/// </summary>
public sealed class AlertmanagerProcess : IAsyncDisposable
{
    private readonly string _directory;
    private ChildDaemon? _process;

    private AlertmanagerProcess(string directory, int port, Uri webhook)
    {
        (_directory, Port, Webhook) = (directory, port, webhook);
    }

    public int Port { get; }

    public Uri Url => new($"http://127.0.0.1:{Port}");

    public Uri Webhook { get; }

    public string Output => _process?.Output ?? string.Empty;

    /// <summary>The installed alertmanager: FLEET_ALERTMANAGER, else /usr/bin/prometheus-alertmanager.</summary>
    public static string Executable =>
        Environment.GetEnvironmentVariable("FLEET_ALERTMANAGER") is { Length: > 0 } configured ? configured
        : File.Exists("/usr/bin/prometheus-alertmanager") ? "/usr/bin/prometheus-alertmanager"
        : throw new InvalidOperationException("Alertmanager is not installed: run scripts/install-deps.sh (Debian package prometheus-alertmanager), or set FLEET_ALERTMANAGER");

    /// <summary>Picks a port and writes the configuration; <see cref="StartAsync"/> runs it.</summary>
    public static AlertmanagerProcess Prepare(Uri webhook)
    {
        ArgumentNullException.ThrowIfNull(webhook);
        var directory = Directory.CreateTempSubdirectory("fleet-alertmanager-").FullName;
        File.WriteAllText(Path.Combine(directory, "alertmanager.yml"), $"""
            route:
              receiver: hook
              group_by: ['alertname', 'cluster']
              group_wait: 0s
              group_interval: 1s
              repeat_interval: 1h
            receivers:
              - name: hook
                webhook_configs:
                  - url: '{webhook}'
                    send_resolved: true
            """);
        return new AlertmanagerProcess(directory, FreeTcpPort.PickConsecutive(1), webhook);
    }

    public async Task StartAsync()
    {
        _process = ChildDaemon.Start([Executable],
        [
            "--config.file=" + Path.Combine(_directory, "alertmanager.yml"),
            "--storage.path=" + Path.Combine(_directory, "data"),
            "--web.listen-address=127.0.0.1:" + Port.ToString(CultureInfo.InvariantCulture),
            "--cluster.listen-address=",
        ], []);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                if ((await http.GetAsync(new Uri(Url, "/-/ready"))).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }

            if (DateTime.UtcNow > deadline || _process.HasExited)
            {
                throw new InvalidOperationException($"Alertmanager did not become ready:\n{_process.Output}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>GET /api/v2/alerts: what Alertmanager holds now (active, silenced and inhibited included).</summary>
    public async Task<JsonElement> AlertsAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        using var document = JsonDocument.Parse(await http.GetStringAsync(new Uri(Url, "/api/v2/alerts")));
        return document.RootElement.Clone();
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }

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
