using System.Buffers;
using System.Text;
using Fleet.Hosting.Prometheus;
using Fleet.Protos.V1;

namespace Fleet.Agent.Metrics;

/// <summary>
/// The /metrics exposition of fleet-agent: the latest <see cref="NodeSnapshot"/> (null before the first
/// collection) plus <see cref="AgentFacts"/>, as <c>fleet_*</c> metrics in the Prometheus text format
/// (<see cref="PrometheusTextWriter.ContentType"/>). No series carries identity labels except
/// <c>fleet_agent_info</c>. docs/agent-metrics.md lists every metric and its cardinality bound.
/// </summary>
internal static class AgentMetricsWriter
{
    /// <summary>Writes the exposition into <paramref name="output"/> (e.g. HttpResponse.BodyWriter); returns the number of series written.</summary>
    public static int Write(IBufferWriter<byte> output, NodeSnapshot? snapshot, AgentFacts facts)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(facts);
        var w = new PrometheusTextWriter(output);
        AgentSelfMetrics.Write(w, snapshot, facts);
        if (snapshot is not null)
        {
            PostgresServerMetrics.Write(w, snapshot);
            StandbyMetrics.Write(w, snapshot);
            SlotMetrics.Write(w, snapshot);
            ArchiveMetrics.WriteArchiver(w, snapshot.Archiver);
            ActivityMetrics.Write(w, snapshot);
            DatabaseMetrics.Write(w, snapshot.Databases);
            TableMetrics.Write(w, snapshot.TableHealth);
            SettingMetrics.Write(w, snapshot.Settings);
            HostMetrics.Write(w, snapshot.Host);
        }

        ArchiveMetrics.WriteVerification(w, facts.ArchiveStatus, facts.Identity);
        return w.SeriesCount;
    }

    /// <summary>The exposition as a string (tests, debugging); the host should prefer <see cref="Write"/>.</summary>
    public static string Render(NodeSnapshot? snapshot, AgentFacts facts)
    {
        var buffer = new ArrayBufferWriter<byte>(16 * 1024);
        Write(buffer, snapshot, facts);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
