using System.Globalization;
using System.Net;
using System.Text.Json;
using Fleet.EndToEnd.Tests.Infrastructure;
using Fleet.Protos.V1;
using Fleet.Testing;
using Google.Protobuf;

namespace Fleet.EndToEnd.Tests;

/// <summary>
/// What the aggregator shows of a healthy fleet: roles, replication topology, lag and data flow, through
/// gRPC and the HTTP JSON API, as reported by real agents from real PostgreSQL servers.
/// </summary>
[Collection(SharedFleetCollection.Name)]
public sealed class TopologyTests(SharedFleetFixture fixture)
{
    [Fact]
    public async Task ListClusters_FleetRunning_ShowsClusterWithPrimaryNode0()
    {
        var response = await fixture.Api.ListClustersAsync().DefaultTimeout();

        var names = response.Clusters.Select(c => c.Name).ToList();
        Assert.Equal(names.Order(StringComparer.Ordinal), names);
        var demo = Assert.Single(response.Clusters, c => c.Name == FleetFixture.Cluster);
        Assert.Equal(FleetFixture.Region, demo.Region);
        Assert.Equal("node0", demo.Primary);
        Assert.Equal(3u, demo.NodeCount);
        Assert.Equal(3u, demo.ConnectedNodeCount);
        Assert.Equal(2u, demo.StreamingReplicaCount);
        Assert.True(demo.HasTimeline);
        Assert.Equal(1u, demo.Timeline);
        Assert.Equal(0ul, demo.Epoch);
        Assert.False(demo.Synchronous);
        Assert.True(demo.HasMaxLagBytes, "the primary reports its standbys, so the cluster has a lag");
    }

    [Fact]
    public async Task GetCluster_FleetRunning_ShowsRolesTopologyAndLag()
    {
        var cluster = await fixture.Api.GetClusterAsync(FleetFixture.Cluster).DefaultTimeout();

        Assert.Equal(FleetFixture.NodeNames, cluster.Nodes.Select(n => n.Identity.Name));
        var primary = cluster.Nodes[0];
        Assert.Equal(NodeRole.Primary, primary.Role);
        Assert.Equal(PostgresState.Up, primary.PostgresState);
        Assert.Equal(AgentPresence.Connected, primary.Presence);
        Assert.Equal(HealthLevel.Ok, primary.Health);
        Assert.Equal(1u, primary.Timeline);
        Assert.Equal(string.Empty, primary.Upstream);
        Assert.False(primary.HasLagBytes, "a primary has no upstream to lag behind");
        Assert.Equal(new NodeIdentity { Name = "node0", Cluster = FleetFixture.Cluster, Region = FleetFixture.Region, Zone = "zone-a" }, primary.Identity);
        Assert.NotNull(primary.Snapshot.Primary);
        Assert.True(primary.Snapshot.Primary.CurrentLsn > 0);
        Assert.Equal(new[] { "node1", "node2" }, primary.Snapshot.Standbys.Select(s => s.ApplicationName).Order(StringComparer.Ordinal));
        Assert.All(primary.Snapshot.Standbys, s => Assert.Equal("streaming", s.State));

        foreach (var (replica, zone) in cluster.Nodes.Skip(1).Zip(new[] { "zone-b", "zone-c" }))
        {
            Assert.Equal(NodeRole.Replica, replica.Role);
            Assert.Equal(PostgresState.Up, replica.PostgresState);
            Assert.Equal(AgentPresence.Connected, replica.Presence);
            Assert.Equal(HealthLevel.Ok, replica.Health);
            Assert.Equal("node0", replica.Upstream);
            Assert.Equal(1u, replica.Timeline);
            Assert.True(replica.HasLagBytes, $"{replica.Identity.Name} has lag_bytes");
            Assert.Equal(zone, replica.Identity.Zone);
            Assert.Equal("streaming", replica.Snapshot.Replica.WalReceiver.Status);
            Assert.Equal((uint)fixture.Fleet.Postgres.Primary.Port, replica.Snapshot.Replica.WalReceiver.SenderPort);
        }

        Assert.Equal(new[] { "node1", "node2" }, cluster.Topology.Select(e => e.Node));
        Assert.All(cluster.Topology, edge =>
        {
            Assert.Equal("node0", edge.Upstream);
            Assert.True(edge.Streaming);
            Assert.Equal("async", edge.SyncState);
            Assert.True(edge.HasLagBytes);
        });
    }

    [Fact]
    public async Task GetNode_WriteLoadOnPrimary_LsnAdvancesAndReplicasCatchUp()
    {
        var table = $"e2e_load_{Guid.NewGuid():N}";
        var before = await fixture.Api.GetNodeAsync(FleetFixture.Cluster, "node0").DefaultTimeout();
        var startLsn = before.Snapshot.Primary.CurrentLsn;

        ulong endLsn;
        await using (var connection = await fixture.Fleet.Postgres.Primary.OpenConnectionAsync().DefaultTimeout())
        {
            await using var create = connection.CreateCommand();
            create.CommandText = $"CREATE TABLE {table} (id int PRIMARY KEY, payload text NOT NULL)";
            await create.ExecuteNonQueryAsync().DefaultTimeout();
            await using var insert = connection.CreateCommand();
            insert.CommandText = $"INSERT INTO {table} SELECT g, md5(g::text) FROM generate_series(1, 100000) AS g";
            Assert.Equal(100_000, await insert.ExecuteNonQueryAsync().WaitAsync(TimeSpan.FromSeconds(60)));
            await using var lsn = connection.CreateCommand();
            lsn.CommandText = "SELECT pg_current_wal_lsn()::text";
            endLsn = ParseLsn((string)(await lsn.ExecuteScalarAsync().DefaultTimeout())!);
        }

        Assert.True(endLsn - startLsn > 5_000_000, $"100k rows write megabytes of WAL ({startLsn} -> {endLsn})");

        // The primary's agent reports the new WAL position.
        var primary = await Poll.UntilAsync(
            () => fixture.Api.GetNodeAsync(FleetFixture.Cluster, "node0"),
            n => n.Snapshot.Primary.CurrentLsn >= endLsn,
            FleetFixture.ConditionTimeout,
            $"node0 to report current_lsn >= {endLsn}",
            n => $"current_lsn {n.Snapshot.Primary.CurrentLsn}");
        Assert.Equal(NodeRole.Primary, primary.Role);

        // Both replicas replay it, and their lag (primary's LSN minus replay LSN) returns to zero.
        var caughtUp = await Poll.UntilAsync(
            () => fixture.Api.GetClusterAsync(FleetFixture.Cluster),
            c => c.Nodes.Skip(1).All(r => r.Snapshot.Replica.ReplayLsn >= endLsn && r.HasLagBytes && r.LagBytes == 0),
            FleetFixture.ConditionTimeout,
            $"node1 and node2 to replay past {endLsn} with lag 0",
            c => string.Join("; ", c.Nodes.Skip(1).Select(r => $"{r.Identity.Name} replay {r.Snapshot.Replica.ReplayLsn} lag {r.LagBytes}")));
        Assert.All(caughtUp.Topology, e => Assert.Equal(0ul, e.LagBytes));
        Assert.Equal(0ul, caughtUp.Summary.MaxLagBytes);

        // The rows really arrived on the replicas.
        foreach (var replica in fixture.Fleet.Postgres.Replicas)
        {
            await using var connection = await replica.OpenConnectionAsync().DefaultTimeout();
            await using var count = connection.CreateCommand();
            count.CommandText = $"SELECT count(*) FROM {table}";
            Assert.Equal(100_000L, (long)(await count.ExecuteScalarAsync().DefaultTimeout())!);
        }
    }

    [Fact]
    public async Task HttpGetCluster_FleetRunning_ReturnsProtobufJsonInLowerCamelCase()
    {
        using var response = await fixture.Http.GetAsync($"/api/v1/clusters/{FleetFixture.Cluster}").DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var json = await response.Content.ReadAsStringAsync().DefaultTimeout();
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;

        var summary = root.GetProperty("summary");
        Assert.Equal("demo", summary.GetProperty("name").GetString());
        Assert.Equal("local", summary.GetProperty("region").GetString());
        Assert.Equal("node0", summary.GetProperty("primary").GetString());
        Assert.Equal(1, summary.GetProperty("timeline").GetInt32());
        Assert.Equal(3, summary.GetProperty("nodeCount").GetInt32());
        Assert.Equal(3, summary.GetProperty("connectedNodeCount").GetInt32());
        Assert.Equal(2, summary.GetProperty("streamingReplicaCount").GetInt32());

        var nodes = root.GetProperty("nodes").EnumerateArray().ToList();
        Assert.Equal(FleetFixture.NodeNames, nodes.Select(n => n.GetProperty("identity").GetProperty("name").GetString()));
        Assert.Equal("NODE_ROLE_PRIMARY", nodes[0].GetProperty("role").GetString());
        Assert.Equal("POSTGRES_STATE_UP", nodes[0].GetProperty("postgresState").GetString());
        Assert.Equal("AGENT_PRESENCE_CONNECTED", nodes[0].GetProperty("presence").GetString());
        Assert.True(nodes[0].GetProperty("snapshot").GetProperty("primary").TryGetProperty("currentLsn", out _));
        foreach (var replica in nodes.Skip(1))
        {
            Assert.Equal("NODE_ROLE_REPLICA", replica.GetProperty("role").GetString());
            Assert.Equal("node0", replica.GetProperty("upstream").GetString());
            Assert.Equal(1, replica.GetProperty("timeline").GetInt32());
            // uint64 is a decimal string in protobuf JSON.
            Assert.True(ulong.TryParse(replica.GetProperty("lagBytes").GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out _));
            Assert.True(DateTimeOffset.TryParse(replica.GetProperty("lastReportAt").GetString(), CultureInfo.InvariantCulture, out _));
        }

        var topology = root.GetProperty("topology").EnumerateArray().ToList();
        Assert.Equal(new[] { "node1", "node2" }, topology.Select(e => e.GetProperty("node").GetString()));
        Assert.All(topology, e =>
        {
            Assert.Equal("node0", e.GetProperty("upstream").GetString());
            Assert.Equal("async", e.GetProperty("syncState").GetString());
            Assert.True(e.GetProperty("streaming").GetBoolean());
        });

        Assert.DoesNotContain("\"lag_bytes\"", json, StringComparison.Ordinal);
        Assert.DoesNotContain("\"streaming_replica_count\"", json, StringComparison.Ordinal);
        // The same document is a valid fleet.v1.Cluster for any protobuf JSON parser.
        var parsed = JsonParser.Default.Parse<Cluster>(json);
        Assert.Equal("node0", parsed.Summary.Primary);
        Assert.Equal(3, parsed.Nodes.Count);
    }

    [Fact]
    public async Task HttpGetCluster_UnknownCluster_Is404WithReason()
    {
        using var response = await fixture.Http.GetAsync("/api/v1/clusters/no-such-cluster").DefaultTimeout();

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync().DefaultTimeout());
        Assert.Equal("no cluster 'no-such-cluster' in this region", document.RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task BadPageToken_SameRefusalAtBothEdges_Http400AndGrpcInvalidArgument()
    {
        // One domain refusal (RequestRefusedException), mapped by each edge to its own status.
        const string reason = "page_token is not one this server issued";
        using var response = await fixture.Http.GetAsync("/api/v1/events?page_token=not-a-token").DefaultTimeout();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync().DefaultTimeout());
        Assert.Equal(reason, document.RootElement.GetProperty("error").GetString());

        var error = await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => fixture.Api.ListEventsAsync(new ListEventsRequest { PageToken = "not-a-token" })).DefaultTimeout();
        Assert.Equal(Grpc.Core.StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(reason, error.Status.Detail);
    }

    [Theory]
    [InlineData("/api/v1/events?since=notadate", "since", "an ISO 8601 time")]
    [InlineData("/api/v1/events?limit=-5", "limit", "a whole number from 1 to 1000")]
    [InlineData("/api/v1/events?limit=100000", "limit", "a whole number from 1 to 1000")]
    [InlineData("/api/v1/events?kind=FAILOVER", "kind", "one of EVENT_KIND_NODE_PRESENCE")]
    [InlineData("/api/v1/alerts?state=bogus", "state", "one of ALERT_STATE_PENDING, ALERT_STATE_FIRING, ALERT_STATE_RESOLVED")]
    [InlineData("/api/v1/alerts?min_severity=7", "min_severity", "one of SEVERITY_")]
    public async Task BadQueryParameter_Is400NamingIt_NotAnUnfilteredAnswer(string path, string parameter, string accepted)
    {
        using var response = await fixture.Http.GetAsync(path).DefaultTimeout();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync().DefaultTimeout());
        var error = document.RootElement.GetProperty("error").GetString();
        Assert.StartsWith($"query parameter '{parameter}' must be ", error, StringComparison.Ordinal);
        Assert.Contains(accepted, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/api/v1/events?since=2026-01-01T00:00:00Z&limit=5&kind=node_presence")]
    [InlineData("/api/v1/alerts?state=FIRING&min_severity=SEVERITY_WARNING")]
    public async Task GoodQueryParameters_AreAccepted(string path)
    {
        using var response = await fixture.Http.GetAsync(path).DefaultTimeout();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task AggregatorMetrics_FleetFamiliesThenProcessInstrumentation_PromtoolValid()
    {
        await fixture.Api.ListClustersAsync().DefaultTimeout();

        var text = await fixture.Http.GetStringAsync("/metrics").DefaultTimeout();

        Assert.Contains("fleet_aggregator_info{", text, StringComparison.Ordinal);
        Assert.Contains("grpc_server_handled_total{grpc_type=\"unary\",grpc_service=\"fleet.v1.FleetService\",grpc_method=\"ListClusters\",grpc_code=\"OK\"}", text, StringComparison.Ordinal);
        Assert.Contains("\nprocess_cpu_seconds_total ", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE http_request_duration_seconds histogram", text, StringComparison.Ordinal);
        Promtool.AssertValid(text);
    }

    /// <summary>"X/Y" (hex) to (X &lt;&lt; 32) | Y, as fleet.v1 encodes LSNs.</summary>
    private static ulong ParseLsn(string text)
    {
        var parts = text.Split('/');
        return (ulong.Parse(parts[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture) << 32)
            | ulong.Parse(parts[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }
}
