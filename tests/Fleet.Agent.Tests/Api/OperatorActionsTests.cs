using Fleet.Hosting.Grpc;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using Fleet.Agent.Tests.Host;
using Fleet.Protos.V1;
using Grpc.Core;
using Fleet.Testing.Tls;

namespace Fleet.Agent.Tests.Api;

/// <summary>
/// AgentService.Promote, Fence, Follow, Rejoin over real gRPC against real agents of a real cluster: the
/// operator failover of <see cref="OperatorActionsFixture"/>, refusals (missing reason, stale epoch,
/// certificates that are not an operator's), and the audit file each call is appended to.
/// </summary>
public sealed class OperatorActionsTests(OperatorActionsFixture fixture) : IClassFixture<OperatorActionsFixture>
{
    private const int OperatorActionSucceeded = 5101;
    private const int OperatorActionRefused = 5102;

    [Fact]
    public async Task Fence_ReadOnlyOnPrimary_WritesRefused_AuditedWithActor()
    {
        var step = await fixture.FenceAsync();

        Assert.True(step.Response.Success, step.Response.ToString());
        Assert.Equal(CommandOutcome.Succeeded, step.Response.Outcome);
        Assert.Equal(1UL, step.Response.Epoch);
        Assert.True(step.Response.Details.Fenced);
        Assert.Equal(NodeRole.Primary, step.Response.Details.Role);
        Assert.Equal(["read_only", "terminate_sessions", "confirm"], step.Response.Details.Steps.Select(s => s.Name));
        Assert.True(step.Response.DurationMs > 0, $"duration_ms {step.Response.DurationMs}");
        Assert.Equal("25006", step.WriteRefusal); // read_only_sql_transaction
        Assert.Equal("on", step.ReadOnlySetting);
        Assert.True(step.Status.Fenced);
        Assert.Equal(1UL, step.Status.HighestEpochSeen);

        var line = Assert.Single(OperatorActionsFixture.ReadAudit(OperatorActionsFixture.AuditFileOf(fixture.Cluster.Nodes[0])),
            l => l.GetProperty("reason").GetString() == OperatorActionsFixture.FenceReason);
        Assert.Equal("Fence", line.GetProperty("action").GetString());
        Assert.Equal("SUCCEEDED", line.GetProperty("outcome").GetString());
        Assert.Equal(1UL, line.GetProperty("epoch").GetUInt64());
        var peer = line.GetProperty("peer").GetString()!;
        Assert.StartsWith("ipv4:127.0.0.1:", peer, StringComparison.Ordinal);
        Assert.Equal($"alice@{peer} (unauthenticated: no TLS)", line.GetProperty("actor").GetString());
        Assert.Equal(step.Response.Message, line.GetProperty("message").GetString());
        var time = DateTimeOffset.Parse(line.GetProperty("time").GetString()!, CultureInfo.InvariantCulture);
        Assert.InRange(time, DateTimeOffset.UtcNow.AddMinutes(-10), DateTimeOffset.UtcNow);
        Assert.Contains(fixture.Agents[0].Logs.Entries, e => e.EventId.Id == OperatorActionSucceeded
            && e.Message.Contains("Fence by alice@", StringComparison.Ordinal) && e.Message.Contains(OperatorActionsFixture.FenceReason, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Promote_Replica_WritableOnANewTimeline_DetailsCarryTheTimeline()
    {
        var step = await fixture.PromoteAsync();
        var node1 = fixture.Cluster.Nodes[1];

        Assert.True(step.Response.Success, step.Response.ToString());
        Assert.Equal(2UL, step.Response.Epoch);
        Assert.Equal(NodeRole.Primary, step.Response.Details.Role);
        Assert.False(step.Response.Details.Fenced);
        Assert.True(step.Response.Details.HasTimeline);
        Assert.Equal(step.TimelineBefore + 1, step.Response.Details.Timeline);
        Assert.Contains("wait_replay", step.Response.Details.Steps.Select(s => s.Name));
        Assert.Contains("promote", step.Response.Details.Steps.Select(s => s.Name));
        Assert.True(step.Response.Details.Lsn >= step.ReplayLsn, $"lsn {step.Response.Details.LsnText} is before the replay target");
        Assert.False(await OperatorActionsFixture.ScalarAsync<bool>(node1, "SELECT pg_is_in_recovery()"));
        Assert.Equal(step.Response.Details.Timeline, await OperatorActionsFixture.TimelineAsync(node1));
        await OperatorActionsFixture.ScalarAsync<object>(node1, "CREATE TABLE IF NOT EXISTS operator_promote_probe (id int); INSERT INTO operator_promote_probe VALUES (1)");
        var status = await fixture.Agents[1].GetStatusAsync();
        Assert.Equal(2UL, status.HighestEpochSeen);
        Assert.False(status.Fenced);
        var line = Assert.Single(OperatorActionsFixture.ReadAudit(OperatorActionsFixture.AuditFileOf(node1)),
            l => l.GetProperty("reason").GetString() == OperatorActionsFixture.PromoteReason);
        Assert.Equal("SUCCEEDED", line.GetProperty("outcome").GetString());
        Assert.Equal("Promote", line.GetProperty("action").GetString());
    }

    [Fact]
    public async Task Follow_OtherReplicaToTheNewPrimary_StreamsFromIt()
    {
        var response = await fixture.FollowAsync();
        var node1 = fixture.Cluster.Nodes[1];
        var node2 = fixture.Cluster.Nodes[2];

        Assert.True(response.Success, response.ToString());
        Assert.Equal(NodeRole.Replica, response.Details.Role);
        Assert.Equal(["upstream_slot", "primary_conninfo", "confirm_streaming"], response.Details.Steps.Select(s => s.Name));
        Assert.Equal(node1.Port, await OperatorActionsFixture.ScalarAsync<int>(node2, "SELECT sender_port FROM pg_stat_wal_receiver WHERE status = 'streaming'"));
        // A row written on the new primary now reaches node2.
        var marker = Guid.NewGuid().ToString("N");
        await OperatorActionsFixture.ScalarAsync<object>(node1, $"CREATE TABLE IF NOT EXISTS operator_follow_probe (marker text); INSERT INTO operator_follow_probe VALUES ('{marker}')");
        await Eventually.ReturnsAsync(
            () => OperatorActionsFixture.ScalarAsync<long>(node2, $"SELECT count(*) FROM pg_class WHERE relname = 'operator_follow_probe'"),
            count => count == 1, OperatorActionsFixture.ReadyTimeout, "node2 to replay the probe table from node1");
        await Eventually.ReturnsAsync(
            () => OperatorActionsFixture.ScalarAsync<long>(node2, $"SELECT count(*) FROM operator_follow_probe WHERE marker = '{marker}'"),
            count => count == 1, OperatorActionsFixture.ReadyTimeout, "node2 to replay the row written on node1");
        Assert.Equal(2UL, (await fixture.Agents[2].GetStatusAsync()).HighestEpochSeen);
    }

    [Fact]
    public async Task StaleEpoch_RefusedWithTheHighestEpoch_NothingChanges()
    {
        await fixture.PromoteAsync();
        var node1 = fixture.Cluster.Nodes[1];
        var reason = "stale fence " + Guid.NewGuid().ToString("N");

        var response = await OperatorActionsFixture.CallAsync(fixture.Agents[1].Channel, "Fence", new FenceRequest
        {
            Epoch = 1,
            Mode = FenceMode.ReadOnly,
            Operator = new OperatorContext { Operator = "bob", Reason = reason },
        });

        Assert.False(response.Success);
        Assert.Equal(CommandOutcome.RefusedStaleEpoch, response.Outcome);
        Assert.Equal(2UL, response.Epoch); // the agent's highest
        Assert.Equal("epoch 1 is older than 2", response.Message);
        Assert.Null(response.Details);
        Assert.Equal("off", await OperatorActionsFixture.ScalarAsync<string>(node1, "SHOW default_transaction_read_only"));
        await OperatorActionsFixture.ScalarAsync<object>(node1, "CREATE TABLE IF NOT EXISTS operator_stale_probe (id int); INSERT INTO operator_stale_probe VALUES (1)");
        var status = await fixture.Agents[1].GetStatusAsync();
        Assert.False(status.Fenced);
        Assert.Equal(2UL, status.HighestEpochSeen);
        Assert.Equal("2", File.ReadAllText(Path.Combine(Path.GetDirectoryName(OperatorActionsFixture.AuditFileOf(node1))!, "epoch")));
        var line = Assert.Single(OperatorActionsFixture.ReadAudit(OperatorActionsFixture.AuditFileOf(node1)), l => l.GetProperty("reason").GetString() == reason);
        Assert.Equal("REFUSED_STALE_EPOCH", line.GetProperty("outcome").GetString());
        Assert.Equal(1UL, line.GetProperty("epoch").GetUInt64()); // the epoch asked for; the message names the highest
        Assert.StartsWith("bob@", line.GetProperty("actor").GetString(), StringComparison.Ordinal);
        Assert.Contains(fixture.Agents[1].Logs.Entries, e => e.EventId.Id == OperatorActionRefused && e.Message.Contains(reason, StringComparison.Ordinal));
    }

    [Fact]
    public async Task MissingReasonOrUpstream_InvalidArgument_AuditedAndNothingRuns()
    {
        // Every agent has seen an epoch by now, so should validation be missing, these epoch-0 requests
        // would come back REFUSED_STALE_EPOCH (and this test fail) instead of acting on the cluster.
        await fixture.FollowAsync();
        var agent = fixture.Agents[2];
        var audit = OperatorActionsFixture.AuditFileOf(fixture.Cluster.Nodes[2]);
        var before = OperatorActionsFixture.ReadAudit(audit).Count;
        var tag = Guid.NewGuid().ToString("N");
        var upstream = new Upstream { Node = "node1", Host = fixture.Cluster.Nodes[1].Host, Port = (uint)fixture.Cluster.Nodes[1].Port };

        var refusals = new (string Method, Func<Task<ActionResponse>> Call, string Expected)[]
        {
            ("Promote", () => OperatorActionsFixture.CallAsync(agent.Channel, "Promote", new PromoteRequest()), "operator.reason is required"),
            ("Promote", () => OperatorActionsFixture.CallAsync(agent.Channel, "Promote", new PromoteRequest { Operator = new() { Operator = "carol-" + tag, Reason = "  " } }), "operator.reason is required"),
            ("Fence", () => OperatorActionsFixture.CallAsync(agent.Channel, "Fence", new FenceRequest { Mode = FenceMode.Stop, Operator = new() { Operator = "carol-" + tag } }), "operator.reason is required"),
            ("Follow", () => OperatorActionsFixture.CallAsync(agent.Channel, "Follow", new FollowRequest { Operator = new() { Operator = "carol-" + tag, Reason = "no upstream" } }), "upstream"),
            ("Rejoin", () => OperatorActionsFixture.CallAsync(agent.Channel, "Rejoin", new RejoinRequest { Upstream = new Upstream { Node = "node1" }, Operator = new() { Operator = "carol-" + tag, Reason = "upstream without host" } }), "upstream"),
            ("Follow", () => OperatorActionsFixture.CallAsync(agent.Channel, "Follow", new FollowRequest { Upstream = upstream, Operator = new() { Operator = "carol-" + tag, Reason = "line\nbreak" } }), "control characters"),
        };
        foreach (var (method, call, expected) in refusals)
        {
            var error = await Assert.ThrowsAsync<RpcException>(call);
            Assert.True(error.StatusCode == StatusCode.InvalidArgument, $"{method}: {error.Status}");
            Assert.Contains(expected, error.Status.Detail, StringComparison.Ordinal);
        }

        var lines = OperatorActionsFixture.ReadAudit(audit).Skip(before).ToList();
        Assert.Equal(refusals.Select(r => r.Method), lines.Select(l => l.GetProperty("action").GetString()));
        Assert.All(lines, l => Assert.Equal("INVALID_ARGUMENT", l.GetProperty("outcome").GetString()));
        Assert.StartsWith("anonymous@ipv4:127.0.0.1:", lines[0].GetProperty("actor").GetString(), StringComparison.Ordinal);
        Assert.All(lines.Skip(1), l => Assert.StartsWith($"carol-{tag}@", l.GetProperty("actor").GetString(), StringComparison.Ordinal));
        Assert.Equal("line\nbreak", lines[^1].GetProperty("reason").GetString()); // escaped in the file, one line per call
        Assert.Equal(refusals.Length, agent.Logs.Entries.Count(e => e.EventId.Id == OperatorActionRefused && e.Message.Contains("INVALID_ARGUMENT", StringComparison.Ordinal)
            && (e.Message.Contains(tag, StringComparison.Ordinal) || e.Message.Contains("anonymous@", StringComparison.Ordinal))));
        var status = await agent.GetStatusAsync();
        Assert.Equal(NodeRole.Replica, status.Role);
        Assert.Equal(2UL, status.HighestEpochSeen);
        Assert.False(status.Fenced);
    }

    [Fact]
    public async Task MutualTls_OnlyOperatorsCertificatesAllowed_ActorIsTheCommonName()
    {
        await fixture.FollowAsync();
        using var ca = new TestCertificateAuthority();
        var directory = Directory.CreateTempSubdirectory("fleet-agent-operator-tls-").FullName;
        try
        {
            // A second agent of node2, with mutual TLS and a state directory of its own (epoch 0).
            using var server = ca.IssueServer();
            var settings = fixture.Settings(fixture.Cluster.Nodes[2]);
            settings["Node:StateDirectory"] = Path.Combine(directory, "state");
            settings["Tls:CertificateFile"] = Write(directory, "tls.crt", server.ExportCertificatePem());
            settings["Tls:KeyFile"] = Write(directory, "tls.key", server.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem());
            settings["Tls:CaFile"] = Write(directory, "ca.crt", ca.Certificate.ExportCertificatePem());
            await using var agent = await RunningAgent.StartAsync(settings);
            var address = new Uri($"https://127.0.0.1:{agent.GrpcAddress.Port}");
            var node1 = fixture.Cluster.Nodes[1];
            var request = new FollowRequest
            {
                Epoch = 2,
                Upstream = new Upstream { Node = node1.Name, Host = node1.Host, Port = (uint)node1.Port },
                Operator = new OperatorContext { Operator = "whoever", Reason = "mTLS test" },
            };

            // An agent's certificate (its region in OU), and one whose organisation merely contains the text "OU=operators".
            var tricky = new X500DistinguishedNameBuilder();
            tricky.AddCommonName("mallory");
            tricky.AddOrganizationName("fleet, OU=operators");
            tricky.AddOrganizationalUnitName("eu-west");
            foreach (var subject in new[] { "CN=node2, OU=eu-west, O=fleet", tricky.Build().Name })
            {
                using var certificate = ca.IssueClient(subject);
                using var channel = GrpcChannels.ForAddress(address, new GrpcClientOptions { ServerCertificateAuthority = ca.Certificate, ClientCertificate = certificate });
                var error = await Assert.ThrowsAsync<RpcException>(() => OperatorActionsFixture.CallAsync(channel, "Follow", request));
                Assert.True(error.StatusCode == StatusCode.PermissionDenied, $"{subject}: {error.Status}");
                Assert.Contains(certificate.Subject, error.Status.Detail, StringComparison.Ordinal);
                Assert.Equal(0UL, (await new AgentClient(channel).GetStatusAsync()).HighestEpochSeen); // read methods stay open to any client of the CA
            }

            // An operator's certificate whose CN holds a comma.
            using var operatorCertificate = ca.IssueClient("CN=\"Smith, Alice\", OU=operators, O=fleet");
            using var operatorChannel = GrpcChannels.ForAddress(address, new GrpcClientOptions { ServerCertificateAuthority = ca.Certificate, ClientCertificate = operatorCertificate });
            var response = await OperatorActionsFixture.CallAsync(operatorChannel, "Follow", request);

            Assert.True(response.Success, response.ToString());
            Assert.Equal(2UL, (await new AgentClient(operatorChannel).GetStatusAsync()).HighestEpochSeen);
            var lines = OperatorActionsFixture.ReadAudit(Path.Combine(directory, "state", "audit.jsonl"));
            Assert.Equal(["PERMISSION_DENIED", "PERMISSION_DENIED", "SUCCEEDED"], lines.Select(l => l.GetProperty("outcome").GetString()));
            Assert.Equal(["node2", "mallory", "Smith, Alice"], lines.Select(l => l.GetProperty("actor").GetString()));
            Assert.All(lines, l => Assert.Equal("whoever", l.GetProperty("operator").GetString()));
            Assert.Contains(agent.Logs.Entries, e => e.EventId.Id == OperatorActionSucceeded && e.Message.Contains("by Smith, Alice from", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static string Write(string directory, string name, string content)
    {
        var path = Path.Combine(directory, name);
        File.WriteAllText(path, content);
        return path;
    }
}
