using System.Buffers;
using Fleet.Aggregator.Configuration;
using Fleet.Aggregator.Coordination;
using Fleet.Aggregator.Ingest;
using Fleet.Aggregator.Monitoring;
using Fleet.Aggregator.State;
using Fleet.Hosting.Prometheus;
using Fleet.Protos.V1;
using Microsoft.Extensions.Options;

namespace Fleet.Aggregator.Metrics;

/// <summary>
/// GET /metrics on the aggregator: fleet-level series. Per-node series carry only cluster and node
/// labels, so cardinality is the number of nodes in the region (never per query, table or error).
/// docs/aggregator.md lists every series.
/// </summary>
internal static class AggregatorMetrics
{
    public static void MapAggregatorMetrics(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapGet("/metrics", async (HttpContext context, FleetState fleet, FleetReader reader, IAlertView alerts, IngestCounters ingest,
            EventRecorder recorder, IOptions<AggregatorOptions> options, TimeProvider time, ProcessMetrics process, ILeadership leadership) =>
        {
            var buffer = new ArrayBufferWriter<byte>(16 * 1024);
            var now = time.GetUtcNow();
            Write(new PrometheusTextWriter(buffer), fleet, reader, alerts.ActiveAlerts(null), ingest, recorder.Dropped, options.Value, leadership.Status(now), now);
            context.Response.ContentType = PrometheusTextWriter.ContentType;
            await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);

            // The process's own instrumentation (process_*, dotnet_*, http_*, grpc_server_*) follows.
            await process.WriteAsync(context.Response.Body, context.RequestAborted);
        });

    internal static void Write(PrometheusTextWriter writer, FleetState fleet, FleetReader reader, IReadOnlyList<Alert> alerts, IngestCounters ingest,
        long droppedEvents, AggregatorOptions options, LeadershipStatus leadership, DateTimeOffset now)
    {
        writer.BeginFamily("fleet_aggregator_info", PrometheusMetricType.Gauge, "Aggregator identity; always 1.");
        writer.BeginSample();
        writer.Label("region", options.Region);
        writer.Label("instance", options.InstanceId);
        writer.EndSample(1);
        writer.WriteGauge("fleet_aggregator_leader", "1 while this aggregator leads its region (grants leases, decides failovers, sends commands), else 0.", leadership.IsLeader ? 1 : 0);
        writer.WriteGauge("fleet_aggregator_leader_term", "The leadership term this aggregator knows (etcd revision of the leader key; 0 without coordination).", leadership.Term);

        var nodes = fleet.Nodes();
        writer.BeginFamily("fleet_aggregator_agents", PrometheusMetricType.Gauge, "Agents known to this aggregator, by presence.");
        foreach (var presence in new[] { AgentPresence.Connected, AgentPresence.Stale, AgentPresence.Disconnected })
        {
            writer.Sample("presence", presence.ToString().ToLowerInvariant(), nodes.Count(n => FleetViews.Presence(n, now, options.Link.StaleAfter) == presence));
        }

        writer.WriteGauge("fleet_aggregator_clusters", "Clusters with at least one known node.", fleet.ClusterNames().Count);
        writer.WriteCounter("fleet_ingest_reports_total", "Agent reports applied to the fleet state.", (ulong)ingest.Reports);
        writer.WriteCounter("fleet_ingest_agents_admitted_total", "Agent link streams admitted.", (ulong)ingest.Admitted);
        writer.BeginFamily("fleet_ingest_agents_refused_total", PrometheusMetricType.Counter, "Agent link streams refused, by reason.");
        writer.Sample("reason", "region", (ulong)ingest.RefusedRegion);
        writer.Sample("reason", "duplicate", (ulong)ingest.RefusedDuplicate);
        writer.Sample("reason", "malformed", (ulong)ingest.RefusedMalformed);
        writer.WriteCounter("fleet_events_dropped_total", "Events not stored because the store fell behind.", (ulong)droppedEvents);

        writer.BeginFamily("fleet_alerts", PrometheusMetricType.Gauge, "Active alerts by state and severity.");
        foreach (var state in new[] { AlertState.Pending, AlertState.Firing })
        {
            foreach (var severity in new[] { Severity.Warning, Severity.Critical })
            {
                writer.BeginSample();
                writer.Label("state", state.ToString().ToLowerInvariant());
                writer.Label("severity", severity.ToString().ToLowerInvariant());
                writer.EndSample(alerts.Count(a => a.State == state && a.Severity == severity));
            }
        }

        var views = fleet.ClusterNames().SelectMany(c => reader.GetCluster(c)?.Nodes ?? []).ToList();
        NodeFamily(writer, views, "fleet_node_up", "1 when the node's agent is connected and its Postgres is up.",
            n => n.Presence == AgentPresence.Connected && n.PostgresState == PostgresState.Up ? 1 : 0);
        NodeFamily(writer, views, "fleet_node_is_primary", "1 when the node reports itself primary.", n => n.Role == NodeRole.Primary ? 1 : 0);
        NodeFamily(writer, views, "fleet_node_health", "Node health: 0 ok, 1 warning, 2 critical, 3 unknown.", n => n.Health switch
        {
            HealthLevel.Ok => 0,
            HealthLevel.Warning => 1,
            HealthLevel.Critical => 2,
            _ => 3,
        });
        NodeFamily(writer, views.Where(n => n.HasLagBytes).ToList(), "fleet_node_lag_bytes", "Replica lag behind its primary, in bytes.", n => n.LagBytes);
        NodeFamily(writer, views.Where(n => n.HasLagSeconds).ToList(), "fleet_node_lag_seconds", "Replica replay lag, in seconds.", n => n.LagSeconds);
    }

    private static void NodeFamily(PrometheusTextWriter writer, IReadOnlyList<Node> nodes, string name, string help, Func<Node, double> value)
    {
        writer.BeginFamily(name, PrometheusMetricType.Gauge, help);
        foreach (var node in nodes)
        {
            writer.BeginSample();
            writer.Label("cluster", node.Identity.Cluster);
            writer.Label("node", node.Identity.Name);
            writer.EndSample(value(node));
        }
    }
}
