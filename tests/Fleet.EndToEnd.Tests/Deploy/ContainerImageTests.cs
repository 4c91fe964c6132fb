using System.Globalization;
using System.Net;
using System.Text.Json;
using Fleet.Hosting.Grpc;
using Fleet.LocalFleet.Postgres;
using Fleet.EndToEnd.Tests.Infrastructure;
using Fleet.Testing;
using Grpc.Health.V1;
using Xunit.Abstractions;

namespace Fleet.EndToEnd.Tests.Deploy;

/// <summary>
/// The images as users run them, under podman: a PostgreSQL container with fleet-agent beside it as its
/// sidecar (sharing the network, the socket directory and the data directory) and a fleet-aggregator
/// container. scripts/test.sh builds the images first (scripts/build-images.sh; the base and PostgreSQL images
/// by scripts/make-base-image.sh and tests/containers/Dockerfile.postgres).
/// </summary>
public sealed class ContainerImageTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Condition = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task PostgresWithAgentSidecar_AndAggregator_Containers_RegisterServeHealthRoleChecksAndMetrics()
    {
        foreach (var image in new[] { Podman.AgentImage, Podman.AggregatorImage, Podman.PostgresImage })
        {
            Assert.True(Podman.ImageExists(image), $"image {image} is missing: run scripts/build-images.sh (scripts/test.sh does)");
            output.WriteLine($"{image}: {Podman.ImageSize(image) / 1e6:F1} MB");
        }

        await using var pod = Podman.Pod.Create();
        var ports = FreeTcpPort.PickConsecutive(5);
        var (postgresPort, aggregatorGrpc, aggregatorHttp, agentGrpc, agentHttp) = (ports, ports + 1, ports + 2, ports + 3, ports + 4);
        var started = DateTimeOffset.UtcNow;

        pod.Run("postgres", Podman.PostgresImage,
            ["-v", $"{pod.Directory("data")}:/var/lib/postgresql/data", "-v", $"{pod.Directory("socket")}:/var/run/postgresql", "-e", "POSTGRES_PASSWORD=container-test"],
            ["-c", $"port={Invariant(postgresPort)}", "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=/var/run/postgresql"]);
        // Both Fleet containers with a read-only root filesystem, as the manifests run them.
        pod.Run("aggregator", Podman.AggregatorImage,
        [
            "--read-only",
            "-e", "FLEET_AGGREGATOR_Region=containers",
            "-e", $"FLEET_AGGREGATOR_Listen__Grpc=127.0.0.1:{Invariant(aggregatorGrpc)}",
            "-e", $"FLEET_AGGREGATOR_Listen__Http=127.0.0.1:{Invariant(aggregatorHttp)}",
            "-e", $"FLEET_HEALTH_PORT={Invariant(aggregatorHttp)}",
            // History in PostgreSQL (the trimmed image's Npgsql path), here the monitored server's; started together, so the store waits for it.
            "-e", "FLEET_AGGREGATOR_Store__Provider=Postgres",
            "-e", $"FLEET_AGGREGATOR_Store__Postgres__ConnectionString=Host=127.0.0.1;Port={Invariant(postgresPort)};Database=postgres;Username=postgres",
            "-e", "FLEET_AGGREGATOR_Store__Postgres__Schema=fleet_history",
            "-e", "PGPASSWORD=container-test",
        ]);
        pod.Run("agent", Podman.AgentImage,
        [
            "--read-only",
            "-v", $"{pod.Directory("data")}:/var/lib/postgresql/data", "-v", $"{pod.Directory("socket")}:/var/run/postgresql",
            "-e", "FLEET_AGENT_Node__Name=node0", "-e", "FLEET_AGENT_Node__Cluster=pods", "-e", "FLEET_AGENT_Node__Region=containers",
            "-e", "FLEET_AGENT_Postgres__Host=/var/run/postgresql", "-e", $"FLEET_AGENT_Postgres__Port={Invariant(postgresPort)}",
            "-e", "FLEET_AGENT_Postgres__DataDirectory=/var/lib/postgresql/data/pgdata",
            "-e", "FLEET_AGENT_Replication__Host=127.0.0.1",
            "-e", $"FLEET_AGENT_Aggregator__Endpoints__0=http://127.0.0.1:{Invariant(aggregatorGrpc)}",
            "-e", $"FLEET_AGENT_Listen__Grpc=127.0.0.1:{Invariant(agentGrpc)}",
            "-e", $"FLEET_AGENT_Listen__Http=127.0.0.1:{Invariant(agentHttp)}",
            "-e", $"FLEET_HEALTH_PORT={Invariant(agentHttp)}",
        ]);

        // The aggregator in its container holds the agent in its container, which sees PostgreSQL in its own.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var node = await Poll.UntilAsync(
            () => TryGetJsonAsync(http, $"http://127.0.0.1:{Invariant(aggregatorHttp)}/api/v1/clusters/pods/nodes/node0"),
            n => n is { } json && json.GetProperty("presence").GetString() == "AGENT_PRESENCE_CONNECTED" && json.GetProperty("role").GetString() == "NODE_ROLE_PRIMARY"
                 && json.GetProperty("postgresState").GetString() == "POSTGRES_STATE_UP",
            Condition, "the aggregator container to hold node0 as an up primary", n => $"{n?.ToString() ?? "not found"}\n{pod.Logs()}");
        output.WriteLine($"node0 registered and up {(DateTimeOffset.UtcNow - started).TotalSeconds:F1} s after the first container started");
        Assert.Equal("node0", node!.Value.GetProperty("identity").GetProperty("name").GetString());

        // The aggregator wrote node0's appearance to its PostgreSQL store and reads it back from there.
        var events = await Poll.UntilAsync(
            () => TryGetJsonAsync(http, $"http://127.0.0.1:{Invariant(aggregatorHttp)}/api/v1/events?cluster=pods"),
            e => e is { } json && json.GetProperty("events").EnumerateArray().Any(x => x.GetProperty("message").GetString()!.StartsWith("node appeared", StringComparison.Ordinal)),
            Condition, "node0's appearance in the aggregator's PostgreSQL history", e => $"{e?.ToString() ?? "no answer"}\n{pod.Logs()}");
        Assert.NotNull(events);

        // Role checks answer by the real role; /metrics is valid exposition; gRPC health says SERVING on both.
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri($"http://127.0.0.1:{Invariant(agentHttp)}/primary"))).StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync(new Uri($"http://127.0.0.1:{Invariant(agentHttp)}/replica"))).StatusCode);
        Promtool.AssertValid(await http.GetStringAsync(new Uri($"http://127.0.0.1:{Invariant(agentHttp)}/metrics")));
        foreach (var grpc in new[] { agentGrpc, aggregatorGrpc })
        {
            using var channel = GrpcChannels.ForAddress($"http://127.0.0.1:{Invariant(grpc)}");
            var health = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(10));
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
        }

        // The images' own HEALTHCHECKs pass, as a container engine runs them.
        foreach (var container in new[] { "aggregator", "agent" })
        {
            var (exit, said) = pod.HealthCheck(container);
            Assert.True(exit == 0, $"{container}'s HEALTHCHECK: exit {exit}: {said}");
        }
    }

    private static async Task<JsonElement?> TryGetJsonAsync(HttpClient http, string url)
    {
        try
        {
            using var response = await http.GetAsync(new Uri(url));
            return response.IsSuccessStatusCode ? JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone() : null;
        }
        catch (HttpRequestException)
        {
            return null; // not listening yet
        }
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
