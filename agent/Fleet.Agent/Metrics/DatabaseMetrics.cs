using Fleet.Hosting.Prometheus;
using Fleet.Protos.V1;
using Google.Protobuf.Collections;

namespace Fleet.Agent.Metrics;

/// <summary>
/// fleet_pg_database_*: one set of series per database of pg_stat_database in the snapshot (label
/// <c>datname</c>; the collector excludes templates). The agent's interval rates (*_per_second,
/// *_per_hour, interval_hit_ratio) are not exported: rate() over the counters is exact over any window.
/// </summary>
internal static class DatabaseMetrics
{
    private const string Label = "datname";

    private static readonly Spec[] Specs =
    [
        new("fleet_pg_database_xact_commit_total", PrometheusMetricType.Counter, "Transactions committed (xact_commit).", static d => d.Commits),
        new("fleet_pg_database_xact_rollback_total", PrometheusMetricType.Counter, "Transactions rolled back (xact_rollback).", static d => d.Rollbacks),
        new("fleet_pg_database_blks_hit_total", PrometheusMetricType.Counter, "Blocks found in shared buffers.", static d => d.BlksHit),
        new("fleet_pg_database_blks_read_total", PrometheusMetricType.Counter, "Blocks read from the OS (disk or page cache).", static d => d.BlksRead),
        new("fleet_pg_database_deadlocks_total", PrometheusMetricType.Counter, "Deadlocks detected.", static d => d.Deadlocks),
        new("fleet_pg_database_conflicts_total", PrometheusMetricType.Counter, "Queries cancelled by recovery conflicts (replicas).", static d => d.Conflicts),
        new("fleet_pg_database_temp_files_total", PrometheusMetricType.Counter, "Temporary files created.", static d => d.TempFiles),
        new("fleet_pg_database_temp_bytes_total", PrometheusMetricType.Counter, "Bytes written to temporary files.", static d => d.TempBytes),
        new("fleet_pg_database_buffer_hit_ratio", PrometheusMetricType.Gauge, "blks_hit / (blks_hit + blks_read) since the statistics reset, 0..1.", static d => d.HasHitRatio ? d.HitRatio : null),
        new("fleet_pg_database_size_bytes", PrometheusMetricType.Gauge, "pg_database_size(), in bytes; refreshed on the slow interval.", static d => d.HasSizeBytes ? d.SizeBytes : null),
        new("fleet_pg_database_size_timestamp_seconds", PrometheusMetricType.Gauge, "When the database size was measured, in Unix seconds.", static d => d.SizeAsOf is { } t ? MetricLabels.UnixSeconds(t) : null),
    ];

    public static void Write(PrometheusTextWriter w, RepeatedField<NodeSnapshot.Types.Database> databases)
    {
        if (databases.Count == 0)
        {
            return;
        }

        foreach (var spec in Specs)
        {
            w.BeginFamily(spec.Name, spec.Type, spec.Help);
            for (var i = 0; i < databases.Count; i++)
            {
                if (spec.Value(databases[i]) is { } value)
                {
                    w.Sample(Label, databases[i].Name, value);
                }
            }
        }
    }

    private sealed record Spec(string Name, PrometheusMetricType Type, string Help, Func<NodeSnapshot.Types.Database, double?> Value);
}
