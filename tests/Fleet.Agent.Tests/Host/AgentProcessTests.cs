using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Fleet.Hosting.Grpc;
using Fleet.LocalFleet.Postgres;
using Fleet.Protos.V1;
using Fleet.Testing;
using Fleet.Testing.Tls;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Npgsql;
using ReflectionV1 = Grpc.Reflection.V1;
using ReflectionV1Alpha = Grpc.Reflection.V1Alpha;

namespace Fleet.Agent.Tests.Host;

/// <summary>
/// The agent executable, as deployed, beside a real primary and its streaming replica: mutual TLS on gRPC,
/// health, reflection v1 and v1alpha, collection, /metrics through promtool, role checks, an audited operator
/// fence, and SIGTERM. The JIT build in the normal run; the Native AOT binary in scripts/test.sh's second
/// pass (<see cref="AgentExecutable"/>), where these are the paths trimming and AOT compilation could break.
/// </summary>
[Trait(AgentExecutable.TraitName, AgentExecutable.TraitValue)]
public sealed class AgentProcessTests : IAsyncLifetime
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan StopBudget = TimeSpan.FromSeconds(10);

    private readonly TestCertificateAuthority _ca = new();
    private readonly string _directory = Directory.CreateTempSubdirectory("fleet-agent-process-").FullName;
    private LocalPostgresCluster? _cluster;

    public async Task InitializeAsync() =>
        _cluster = await LocalPostgresCluster.StartAsync(new PostgresClusterOptions { ReplicaCount = 1, ArchiveEnabled = false }).WaitAsync(TimeSpan.FromSeconds(120));

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        _ca.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task PrimaryAndReplicaAgents_MutualTls_ServeStatusHealthReflectionMetricsRoleChecks_AuditedFence_ExitOnSigterm()
    {
        var cluster = _cluster!;
        using var operatorCertificate = _ca.IssueClient("CN=alice, OU=operators, O=fleet");
        await using var primary = StartAgent(cluster.Nodes[0], cluster.BinDirectory);
        await using var replica = StartAgent(cluster.Nodes[1], cluster.BinDirectory);
        using var primaryChannel = primary.Channel(operatorCertificate);
        using var replicaChannel = replica.Channel(operatorCertificate);

        // Collection: each agent sees its server up, in its role (the replica streaming).
        var primaryStatus = await WaitForStatusAsync(primary, primaryChannel, s => s.Snapshot is { PostgresState: PostgresState.Up, Role: NodeRole.Primary }, "an up primary");
        await WaitForStatusAsync(replica, replicaChannel, s => s.Snapshot is { PostgresState: PostgresState.Up, Role: NodeRole.Replica, Replica.WalReceiver.Status: "streaming" }, "a streaming replica");
        Assert.Equal(cluster.Nodes[0].Name, primaryStatus.Identity.Name);

        // Health and reflection, both versions, as grpcurl and older tools ask.
        var health = await new Health.HealthClient(primaryChannel).CheckAsync(new HealthCheckRequest { Service = AgentService.Descriptor.FullName }, deadline: Deadline());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
        Assert.Contains(AgentService.Descriptor.FullName, await ListServicesV1Async(primaryChannel));
        Assert.Contains(AgentService.Descriptor.FullName, await ListServicesV1AlphaAsync(primaryChannel));

        // Mutual TLS: a client without a certificate gets no answer.
        using (var anonymous = GrpcChannels.ForAddress(primary.GrpcAddress, new GrpcClientOptions { ServerCertificateAuthority = _ca.Certificate }))
        {
            var refused = await Assert.ThrowsAsync<RpcException>(() => new AgentClient(anonymous).GetStatusAsync());
            // With TLS 1.3 the server checks the client certificate after the client has finished its handshake:
            // the refusal reaches the client either as a failed connection (UNAVAILABLE) or, when the request
            // was already written on the connection, as a reset stream (INTERNAL). Both mean no answer.
            Assert.True(refused.StatusCode is StatusCode.Unavailable or StatusCode.Internal, refused.ToString());
        }

        // /metrics passes promtool and carries the collected figures; role checks answer for each role.
        using var http = new HttpClient { Timeout = CallTimeout };
        var exposition = await http.GetStringAsync(new Uri(primary.HttpAddress, "/metrics"));
        Promtool.AssertValid(exposition);
        Assert.Contains("\nfleet_pg_up 1\n", exposition, StringComparison.Ordinal);
        Assert.Contains("role=\"primary\"", exposition, StringComparison.Ordinal);
        Assert.Equal(200, await StatusAsync(http, primary, "/primary"));
        Assert.Equal(503, await StatusAsync(http, primary, "/replica"));
        Assert.Equal(200, await StatusAsync(http, replica, "/replica"));
        Assert.Equal(503, await StatusAsync(http, replica, "/primary"));

        // An operator's fence over mutual TLS: the primary refuses writes, and the action is in the audit file.
        var fence = await AgentClient.OperatorAction(primaryChannel, "Fence", new FenceRequest
        {
            Epoch = 1,
            Mode = FenceMode.ReadOnly,
            Operator = new OperatorContext { Operator = "alice", Reason = "agent process test" },
        }, new CallOptions(deadline: DateTime.UtcNow + TimeSpan.FromSeconds(60))).ResponseAsync;
        Assert.True(fence.Success, fence.ToString());
        await using (var connection = await cluster.Nodes[0].OpenConnectionAsync())
        await using (var write = new NpgsqlCommand("CREATE TABLE agent_process_probe (id int)", connection))
        {
            var refusal = await Assert.ThrowsAsync<PostgresException>(() => write.ExecuteNonQueryAsync());
            Assert.Equal(PostgresErrorCodes.ReadOnlySqlTransaction, refusal.SqlState);
        }

        var audit = File.ReadAllLines(Path.Combine(primary.StateDirectory, "audit.jsonl"))
            .Select(line => JsonDocument.Parse(line).RootElement.Clone())
            .ToList();
        var entry = Assert.Single(audit);
        Assert.Equal("SUCCEEDED", entry.GetProperty("outcome").GetString());
        Assert.Equal("alice", entry.GetProperty("actor").GetString());

        // SIGTERM: each exits 0 within the budget.
        foreach (var agent in new[] { primary, replica })
        {
            var took = await agent.Process.TerminateAsync(StopBudget);
            Assert.True(agent.Process.ExitCode == 0, $"{agent.Name} exited {agent.Process.ExitCode} after SIGTERM:\n{agent.Process.Output}");
            Assert.True(took < StopBudget, $"{agent.Name} took {took} to stop");
        }
    }

    private AgentChild StartAgent(IPostgresNode node, string binDirectory)
    {
        var ports = FreeTcpPort.PickConsecutive(2);
        var directory = Path.Combine(_directory, node.Name);
        Directory.CreateDirectory(directory);
        using var server = _ca.IssueServer();
        var settings = new Dictionary<string, string>
        {
            ["Node:Name"] = node.Name,
            ["Node:Cluster"] = "agent-process",
            ["Node:Region"] = "test-region",
            ["Node:StateDirectory"] = Path.Combine(directory, "state"),
            ["Postgres:Host"] = node.Host,
            ["Postgres:Port"] = node.Port.ToString(CultureInfo.InvariantCulture),
            ["Postgres:DataDirectory"] = node.DataDirectory,
            ["Postgres:BinDirectory"] = binDirectory,
            ["Collection:Interval"] = "00:00:00.500",
            ["Listen:Grpc"] = $"127.0.0.1:{ports}",
            ["Listen:Http"] = $"127.0.0.1:{ports + 1}",
            ["Tls:CertificateFile"] = Write(directory, "tls.crt", server.ExportCertificatePem()),
            ["Tls:KeyFile"] = Write(directory, "tls.key", server.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem()),
            ["Tls:CaFile"] = Write(directory, "ca.crt", _ca.Certificate.ExportCertificatePem()),
        };
        var process = ChildDaemon.Start(AgentExecutable.Command, [],
            settings.ToDictionary(s => AgentHost.EnvironmentPrefix + s.Key.Replace(":", "__", StringComparison.Ordinal), s => s.Value));
        return new AgentChild(node.Name, process, new Uri($"https://127.0.0.1:{ports}"), new Uri($"http://127.0.0.1:{ports + 1}"), Path.Combine(directory, "state"), _ca);
    }

    private static async Task<GetStatusResponse> WaitForStatusAsync(AgentChild agent, GrpcChannel channel, Func<GetStatusResponse, bool> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        var last = "no answer yet";
        while (deadline.Elapsed < ReadyTimeout)
        {
            if (agent.Process.HasExited)
            {
                Assert.Fail($"{agent.Name} exited ({agent.Process.ExitCode}) before it showed {what}:\n{agent.Process.Output}");
            }

            try
            {
                var status = await new AgentClient(channel).GetStatusAsync();
                if (condition(status))
                {
                    return status;
                }

                last = status.Snapshot?.ToString() ?? "no snapshot";
            }
            catch (RpcException e)
            {
                last = e.Status.ToString();
            }

            await Task.Delay(200);
        }

        Assert.Fail($"{agent.Name} did not show {what} within {ReadyTimeout.TotalSeconds:F0} s; last: {last}\n{agent.Process.Output}");
        return null!;
    }

    private static async Task<List<string>> ListServicesV1Async(GrpcChannel channel)
    {
        using var call = new ReflectionV1.ServerReflection.ServerReflectionClient(channel).ServerReflectionInfo(deadline: Deadline());
        await call.RequestStream.WriteAsync(new ReflectionV1.ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None), "reflection v1 sent no answer");
        return [.. call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name)];
    }

    private static async Task<List<string>> ListServicesV1AlphaAsync(GrpcChannel channel)
    {
        using var call = new ReflectionV1Alpha.ServerReflection.ServerReflectionClient(channel).ServerReflectionInfo(deadline: Deadline());
        await call.RequestStream.WriteAsync(new ReflectionV1Alpha.ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None), "reflection v1alpha sent no answer");
        return [.. call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name)];
    }

    private static async Task<int> StatusAsync(HttpClient http, AgentChild agent, string path)
    {
        using var response = await http.GetAsync(new Uri(agent.HttpAddress, path));
        return (int)response.StatusCode;
    }

    private static DateTime Deadline() => DateTime.UtcNow + CallTimeout;

    private static string Write(string directory, string name, string content)
    {
        var path = Path.Combine(directory, name);
        File.WriteAllText(path, content);
        return path;
    }

    /// <summary>One agent process and where it listens.</summary>
    private sealed class AgentChild(string name, ChildDaemon process, Uri grpc, Uri http, string stateDirectory, TestCertificateAuthority ca) : IAsyncDisposable
    {
        public string Name { get; } = name;

        public ChildDaemon Process { get; } = process;

        public Uri GrpcAddress { get; } = grpc;

        public Uri HttpAddress { get; } = http;

        public string StateDirectory { get; } = stateDirectory;

        public GrpcChannel Channel(X509Certificate2 clientCertificate) =>
            GrpcChannels.ForAddress(GrpcAddress, new GrpcClientOptions { ServerCertificateAuthority = ca.Certificate, ClientCertificate = clientCertificate });

        public ValueTask DisposeAsync() => Process.DisposeAsync();
    }
}
