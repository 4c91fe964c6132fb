using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Fleet.LocalFleet.Postgres;
using Fleet.Protos.V1;
using Fleet.Testing.Alertmanager;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Fleet.Aggregator.Tests.Delivery;

/// <summary>
/// A real aggregator delivering to a real Prometheus Alertmanager, whose webhook receiver is this test: an alert
/// fired while one Alertmanager of an HA pair is not up yet arrives there once it is (retried with backoff) and at
/// its partner at once, with Fleet's labels and annotations, grouped by Alertmanager; when the condition ends, the
/// resolution arrives too.
/// </summary>
public sealed class AlertmanagerDeliveryTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task AlertFiredWhileAlertmanagerIsAway_ArrivesWhenItStarts_GroupedWithFleetsLabels_ThenResolves()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var alertmanager = AlertmanagerProcess.Prepare(receiver.Url);
        // The other member of an HA pair, up from the start: both must get every alert.
        await using var partner = AlertmanagerProcess.Prepare(receiver.Url);
        await partner.StartAsync();
        var ports = FreeTcpPort.PickConsecutive(2);
        var directory = Directory.CreateTempSubdirectory("fleet-am-test-").FullName;
        var app = AggregatorHost.Build(null, new Dictionary<string, string?>
        {
            ["Region"] = "am-test",
            ["Listen:Grpc"] = $"127.0.0.1:{ports}",
            ["Listen:Http"] = $"127.0.0.1:{ports + 1}",
            ["Store:Path"] = Path.Combine(directory, "aggregator.db"),
            ["Logging:Console:LogLevel:Default"] = "None",
            ["Alerts:cpu_high:For"] = "00:00:00",
            ["Alertmanager:Endpoints:0"] = alertmanager.Url.ToString(),
            ["Alertmanager:Endpoints:1"] = partner.Url.ToString(),
            ["Alertmanager:ResendInterval"] = "00:00:02",
            ["Alertmanager:ExternalUrl"] = $"http://127.0.0.1:{ports + 1}/",
        });
        await app.StartAsync().WaitAsync(Wait);
        try
        {
            using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{ports}");
            using var link = new AgentLink.AgentLinkClient(channel).Connect(deadline: DateTime.UtcNow.AddSeconds(120));
            await link.RequestStream.WriteAsync(new AgentMessage
            {
                Hello = new AgentHello { Identity = new NodeIdentity { Cluster = "pg", Name = "node0", Region = "am-test" }, Role = NodeRole.Primary, AgentVersion = "am-test", InstanceId = "am-test" },
            });
            var cpu = 97.0;
            using var reporting = new CancellationTokenSource();
            var reports = Task.Run(async () =>
            {
                for (ulong sequence = 1; sequence <= 600 && !reporting.IsCancellationRequested; sequence++)
                {
                    var snapshot = new NodeSnapshot { PostgresState = PostgresState.Up, Role = NodeRole.Primary, Host = new NodeSnapshot.Types.Host { CpuPercent = Volatile.Read(ref cpu) } };
                    await link.RequestStream.WriteAsync(new AgentMessage { Report = new AgentReport { Sequence = sequence, Snapshot = snapshot } });
                    await Task.Delay(200);
                }
            });

            // Fired while nobody listens: the notifier fails and backs off.
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            await PollAsync(async () => (await http.GetStringAsync(new Uri($"http://127.0.0.1:{ports + 1}/api/v1/alerts"))).Contains("ALERT_STATE_FIRING", StringComparison.Ordinal), "cpu_high to fire");
            await Task.Delay(TimeSpan.FromSeconds(1.5)); // at least one failed attempt before the Alertmanager exists
            await alertmanager.StartAsync();

            // Alertmanager holds it with Fleet's labels and annotations, and notified its receiver, grouped.
            var held = await PollAsync(async () => (await alertmanager.AlertsAsync()).EnumerateArray().FirstOrDefault(a => a.GetProperty("labels").GetProperty("alertname").GetString() == "cpu_high"), "Alertmanager to hold cpu_high");
            var labels = held.GetProperty("labels");
            Assert.Equal("warning", labels.GetProperty("severity").GetString());
            Assert.Equal("am-test", labels.GetProperty("region").GetString());
            Assert.Equal("pg", labels.GetProperty("cluster").GetString());
            Assert.Equal("node0", labels.GetProperty("node").GetString());
            Assert.Equal("active", held.GetProperty("status").GetProperty("state").GetString());
            var annotations = held.GetProperty("annotations");
            Assert.Contains("97", annotations.GetProperty("value").GetString(), StringComparison.Ordinal);
            Assert.Equal("docs/alerts.md#cpu_high", annotations.GetProperty("runbook_url").GetString());
            Assert.Equal($"http://127.0.0.1:{ports + 1}/", held.GetProperty("generatorURL").GetString());

            await PollAsync(async () => (await partner.AlertsAsync()).EnumerateArray().Any(a => a.GetProperty("labels").GetProperty("alertname").GetString() == "cpu_high"), "the HA partner to hold cpu_high too");

            var firing = await PollAsync(() => Task.FromResult(receiver.Notifications.FirstOrDefault(n => n.GetProperty("status").GetString() == "firing")), "the receiver to be notified of the firing alert");
            Assert.Equal("cpu_high", firing.GetProperty("groupLabels").GetProperty("alertname").GetString());
            Assert.Equal("pg", firing.GetProperty("groupLabels").GetProperty("cluster").GetString());

            // The condition ends: the resolution reaches the receiver through Alertmanager.
            Volatile.Write(ref cpu, 10.0);
            var resolved = await PollAsync(() => Task.FromResult(receiver.Notifications.FirstOrDefault(n => n.GetProperty("status").GetString() == "resolved")), "the receiver to be notified of the resolution");
            Assert.Equal("cpu_high", resolved.GetProperty("alerts")[0].GetProperty("labels").GetProperty("alertname").GetString());

            await reporting.CancelAsync();
            await reports.WaitAsync(Wait);
            await link.RequestStream.CompleteAsync();
        }
        finally
        {
            await app.StopAsync().WaitAsync(Wait);
            await app.DisposeAsync();
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task<T> PollAsync<T>(Func<Task<T>> read, string what)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (true)
        {
            var value = await read();
            if (value is bool b ? b : !EqualityComparer<T>.Default.Equals(value, default))
            {
                return value;
            }

            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(100);
        }
    }

    /// <summary>Alertmanager's webhook receiver: every notification it posts, as JSON.</summary>
    private sealed class WebhookReceiver : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly ConcurrentQueue<JsonElement> _notifications = new();

        private WebhookReceiver(WebApplication app, Uri url) => (_app, Url) = (app, url);

        public Uri Url { get; }

        public IReadOnlyList<JsonElement> Notifications => [.. _notifications];

        public static async Task<WebhookReceiver> StartAsync()
        {
            var port = FreeTcpPort.PickConsecutive(1);
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}");
            var app = builder.Build();
            var receiver = new WebhookReceiver(app, new Uri($"http://127.0.0.1:{port}/hook"));
            app.MapPost("/hook", async (HttpRequest request) =>
            {
                using var document = await JsonDocument.ParseAsync(request.Body);
                receiver._notifications.Enqueue(document.RootElement.Clone());
                return Results.Ok();
            });
            await app.StartAsync();
            return receiver;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
