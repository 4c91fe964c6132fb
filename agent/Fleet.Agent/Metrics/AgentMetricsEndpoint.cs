using Fleet.Agent.Archive.Hosting;
using Fleet.Agent.Collection;
using Fleet.Agent.Configuration;
using Fleet.Agent.Memory;
using Fleet.Agent.State;
using Fleet.Hosting.Prometheus;
using Fleet.Protos.V1;
using Microsoft.Extensions.Options;

namespace Fleet.Agent.Metrics;

/// <summary>GET /metrics: the latest snapshot and the agent's own facts, then the process's own instrumentation (prometheus-net), in Prometheus text format.</summary>
internal static class AgentMetricsEndpoint
{
    public static void MapAgentMetrics(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapGet("/metrics", static async context =>
        {
            var services = context.RequestServices;
            var state = services.GetRequiredService<AgentState>();
            var link = state.Link;
            var collection = services.GetRequiredService<CollectionStats>();
            var facts = new AgentFacts
            {
                Identity = AgentIdentity.From(services.GetRequiredService<IOptions<AgentOptions>>().Value.Node),
                AgentVersion = AgentState.Version,
                Uptime = services.GetRequiredService<TimeProvider>().GetUtcNow() - state.StartedAt,
                LinkConnected = link.State == LinkState.Disabled ? null : link.State == LinkState.Connected,
                LinkReconnects = (ulong)state.LinkReconnects,
                CollectionCycles = collection.Cycles,
                CollectionFailures = collection.Failures,
                LastCycleDuration = collection.LastDuration,
                ArchiveStatus = services.GetService<ArchiveStatusBoard>()?.Current,
                Runtime = AgentRuntimeFacts.Read(services.GetRequiredService<HeapTrimStats>()),
            };
            context.Response.ContentType = PrometheusTextWriter.ContentType;
            AgentMetricsWriter.Write(context.Response.BodyWriter, services.GetRequiredService<SnapshotBoard>().Current, facts);
            await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
            await services.GetRequiredService<ProcessMetrics>().WriteAsync(context.Response.Body, context.RequestAborted);
        });
}
