using System.Globalization;
using System.Net;
using System.Text.Json;
using Fleet.Hosting.Grpc;
using Fleet.LocalFleet.Postgres;
using Fleet.EndToEnd.Tests.Infrastructure;
using Fleet.Protos.V1;
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
        var (aggregatorGrpc, aggregatorHttp, node0) = (ports, ports + 1, new ContainerNode("node0", ports + 2));
        var (postgresPort, agentGrpc, agentHttp) = (node0.PostgresPort, node0.AgentGrpcPort, node0.AgentHttpPort);
        const string password = "container-test";
        var started = DateTimeOffset.UtcNow;

        pod.Run("postgres-node0", Podman.PostgresImage, PostgresOptions(pod, node0, password), PostgresArguments(node0));
        // Both Fleet containers with a read-only root filesystem, as the manifests run them.
        pod.Run("aggregator", Podman.AggregatorImage, AggregatorOptions(aggregatorGrpc, aggregatorHttp,
            // History in PostgreSQL (the trimmed image's Npgsql path), here the monitored server's; started together, so the store waits for it.
            "-e", "FLEET_AGGREGATOR_Store__Provider=Postgres",
            "-e", $"FLEET_AGGREGATOR_Store__Postgres__ConnectionString=Host=127.0.0.1;Port={Invariant(postgresPort)};Database=postgres;Username=postgres",
            "-e", "FLEET_AGGREGATOR_Store__Postgres__Schema=fleet_history",
            "-e", $"PGPASSWORD={password}"));
        pod.Run("agent-node0", Podman.AgentImage, AgentOptions(pod, node0, aggregatorGrpc, password));

        // The aggregator in its container holds the agent in its container, which sees PostgreSQL in its own.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var node = await Poll.UntilAsync(
            () => TryGetJsonAsync(http, $"http://127.0.0.1:{Invariant(aggregatorHttp)}/api/v1/clusters/pods/nodes/node0"),
            // Fields at their default are left out of the JSON (a node seen before its first report has no role yet).
            n => n is { } json && Text(json, "presence") == "AGENT_PRESENCE_CONNECTED" && Text(json, "role") == "NODE_ROLE_PRIMARY"
                 && Text(json, "postgresState") == "POSTGRES_STATE_UP",
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
        foreach (var container in new[] { "aggregator", "agent-node0" })
        {
            var (exit, said) = pod.HealthCheck(container);
            Assert.True(exit == 0, $"{container}'s HEALTHCHECK: exit {exit}: {said}");
        }
    }

    /// <summary>
    /// Two PostgreSQL containers (a primary and its streaming replica), each with fleet-agent as its sidecar, under
    /// one aggregator container: a switchover moves the primary, and the old primary, stopped by its agent (which
    /// ends its container, as the kubelet would see it), is started again by that agent as a replica of the new one.
    /// Each pair shares the host's process namespace, as <c>shareProcessNamespace</c> does in the sidecar manifest:
    /// a fence and a promotion signal the postmaster of the other container.
    /// </summary>
    [Fact]
    public async Task TwoPostgresPodsWithAgentSidecars_SwitchoverMovesThePrimary_TheOldPrimaryFollowsTheNewOne()
    {
        await using var pod = Podman.Pod.Create();
        var ports = FreeTcpPort.PickConsecutive(8);
        var (aggregatorGrpc, aggregatorHttp) = (ports, ports + 1);
        var nodes = new[] { new ContainerNode("node0", ports + 2), new ContainerNode("node1", ports + 5) };
        const string password = "switchover-test";

        pod.Run("postgres-node0", Podman.PostgresImage, PostgresOptions(pod, nodes[0], password), PostgresArguments(nodes[0]));
        pod.Run("aggregator", Podman.AggregatorImage, AggregatorOptions(aggregatorGrpc, aggregatorHttp));

        // node1 is cloned from node0 with pg_basebackup from the PostgreSQL image, as the manifest's init container does.
        var cloned = await Poll.UntilAsync(
            () => Task.FromResult(Podman.TryRun(
            [
                "run", "--rm", "--network", "host", "-v", $"{pod.Directory("node1-data")}:/var/lib/postgresql/data", "-e", $"PGPASSWORD={password}",
                "--entrypoint", "pg_basebackup", Podman.PostgresImage,
                "-h", "127.0.0.1", "-p", Invariant(nodes[0].PostgresPort), "-U", "postgres", "-D", "/var/lib/postgresql/data/pgdata", "-X", "stream", "-R", "--checkpoint=fast",
            ])),
            r => r.ExitCode == 0, Condition, "node1 cloned from node0", r => $"{r.Output}\n{pod.Logs()}");
        Assert.Equal(0, cloned.ExitCode);
        pod.Run("postgres-node1", Podman.PostgresImage, PostgresOptions(pod, nodes[1], password), PostgresArguments(nodes[1]));
        foreach (var node in nodes)
        {
            pod.Run($"agent-{node.Name}", Podman.AgentImage, AgentOptions(pod, node, aggregatorGrpc, password));
        }

        using var channel = GrpcChannels.ForAddress($"http://127.0.0.1:{Invariant(aggregatorGrpc)}");
        var fleet = new FleetService.FleetServiceClient(channel);
        await WaitForClusterAsync(fleet, "node0", pod);

        // There and back: node0's server is started again by its agent (inside the agent's container), and must come
        // back with its container's command line (port, wal_log_hints for pg_rewind) for the return switchover to work.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        foreach (var (from, to) in new[] { (nodes[0], nodes[1]), (nodes[1], nodes[0]) })
        {
            var requested = DateTimeOffset.UtcNow;
            var response = await fleet.SwitchoverAsync(new SwitchoverRequest
            {
                Cluster = "pods",
                Candidate = to.Name,
                Operator = new OperatorContext { Operator = "container-test", Reason = "switchover between two pods" },
            }, deadline: DateTime.UtcNow.AddSeconds(60));
            Assert.True(response.Decision.Outcome == DecisionOutcome.Completed, $"switchover to {to.Name}: {response.Decision}\n{pod.Logs()}");
            Assert.Equal(to.Name, response.Decision.NewPrimary);

            await WaitForClusterAsync(fleet, to.Name, pod);
            output.WriteLine($"switchover to {to.Name}: completed in {response.Decision.DurationMs} ms; {from.Name} streams from it {(DateTimeOffset.UtcNow - requested).TotalSeconds:F1} s after the request");
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri($"http://127.0.0.1:{Invariant(to.AgentHttpPort)}/primary"))).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri($"http://127.0.0.1:{Invariant(from.AgentHttpPort)}/replica"))).StatusCode);

            // The server its agent started runs with its container's command line, not with postgresql.conf's
            // listen_addresses = '*' and without wal_log_hints (which the next rejoin's pg_rewind needs).
            await using var connection = new Npgsql.NpgsqlConnection($"Host=127.0.0.1;Port={Invariant(from.PostgresPort)};Username=postgres;Password={password};Database=postgres");
            await connection.OpenAsync();
            foreach (var (setting, expected) in new[] { ("wal_log_hints", "on"), ("listen_addresses", "127.0.0.1") })
            {
                await using var show = new Npgsql.NpgsqlCommand($"SHOW {setting}", connection);
                Assert.Equal(expected, (string?)await show.ExecuteScalarAsync());
            }
        }
    }

    /// <summary>Until <paramref name="primary"/> is the cluster's primary and the other node streams from it, both agents connected.</summary>
    private static async Task WaitForClusterAsync(FleetService.FleetServiceClient fleet, string primary, Podman.Pod pod)
    {
        await Poll.UntilAsync(
            async () =>
            {
                try
                {
                    return await fleet.GetClusterAsync(new GetClusterRequest { Cluster = "pods" }, deadline: DateTime.UtcNow.AddSeconds(10));
                }
                catch (Grpc.Core.RpcException)
                {
                    return null; // not up yet, or the cluster not yet known
                }
            },
            // The node's own report too, not only the published primary: its role check answers from the same snapshot.
            c => c is { } cluster && cluster.Summary.Primary == primary && cluster.Summary.StreamingReplicaCount == 1
                 && cluster.Nodes.Count == 2 && cluster.Nodes.All(n => n.Presence == AgentPresence.Connected)
                 && cluster.Nodes.All(n => n.Role == (n.Identity.Name == primary ? NodeRole.Primary : NodeRole.Replica)),
            TimeSpan.FromSeconds(90), $"{primary} the primary with the other node streaming from it", c => $"{c?.ToString() ?? "no cluster"}\n{pod.Logs()}");
    }

    private sealed record ContainerNode(string Name, int PostgresPort)
    {
        public int AgentGrpcPort => PostgresPort + 1;

        public int AgentHttpPort => PostgresPort + 2;
    }

    private static string[] AggregatorOptions(int grpc, int http, params string[] more) =>
    [
        "--read-only",
        "-e", "FLEET_AGGREGATOR_Region=containers",
        "-e", $"FLEET_AGGREGATOR_Listen__Grpc=127.0.0.1:{Invariant(grpc)}",
        "-e", $"FLEET_AGGREGATOR_Listen__Http=127.0.0.1:{Invariant(http)}",
        "-e", $"FLEET_HEALTH_PORT={Invariant(http)}",
        .. more,
    ];

    private static string[] PostgresOptions(Podman.Pod pod, ContainerNode node, string password) =>
    [
        "--pid", "host",
        "-v", $"{pod.Directory(node.Name + "-data")}:/var/lib/postgresql/data", "-v", $"{pod.Directory(node.Name + "-socket")}:/var/run/postgresql",
        "-e", $"POSTGRES_PASSWORD={password}",
        "-e", $"PGPASSWORD={password}", // the WAL receiver's, once a replica
    ];

    private static string[] PostgresArguments(ContainerNode node) =>
        ["-c", $"port={Invariant(node.PostgresPort)}", "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=/var/run/postgresql", "-c", "wal_log_hints=on"];

    private static string[] AgentOptions(Podman.Pod pod, ContainerNode node, int aggregatorGrpc, string password) =>
    [
        "--read-only", "--pid", "host",
        "-v", $"{pod.Directory(node.Name + "-data")}:/var/lib/postgresql/data", "-v", $"{pod.Directory(node.Name + "-socket")}:/var/run/postgresql",
        "-e", $"FLEET_AGENT_Node__Name={node.Name}", "-e", "FLEET_AGENT_Node__Cluster=pods", "-e", "FLEET_AGENT_Node__Region=containers",
        "-e", "FLEET_AGENT_Postgres__Host=/var/run/postgresql", "-e", $"FLEET_AGENT_Postgres__Port={Invariant(node.PostgresPort)}",
        "-e", "FLEET_AGENT_Postgres__DataDirectory=/var/lib/postgresql/data/pgdata",
        "-e", "FLEET_AGENT_Replication__Host=127.0.0.1",
        "-e", $"FLEET_AGENT_Aggregator__Endpoints__0=http://127.0.0.1:{Invariant(aggregatorGrpc)}",
        "-e", $"FLEET_AGENT_Listen__Grpc=127.0.0.1:{Invariant(node.AgentGrpcPort)}",
        "-e", $"FLEET_AGENT_Listen__Http=127.0.0.1:{Invariant(node.AgentHttpPort)}",
        "-e", $"FLEET_HEALTH_PORT={Invariant(node.AgentHttpPort)}",
        "-e", $"PGPASSWORD={password}", // pg_rewind's, and the WAL receiver's of a server this agent starts
    ];

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

    private static string? Text(JsonElement json, string name) => json.TryGetProperty(name, out var value) ? value.GetString() : null;

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
