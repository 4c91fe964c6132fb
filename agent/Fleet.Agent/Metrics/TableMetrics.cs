using Fleet.Hosting.Prometheus;
using Fleet.Protos.V1;

namespace Fleet.Agent.Metrics;

/// <summary>
/// fleet_pg_table_*: dead tuples and bloat of the top tables the snapshot carries (labels <c>datname</c>,
/// <c>table</c>). The collector keeps the worst Collection:TopTables; <see cref="MaxTables"/> caps it again
/// here, so a misconfiguration cannot flood Prometheus.
/// </summary>
internal static class TableMetrics
{
    /// <summary>Hard cap on tables exported, whatever the snapshot carries (they come worst first).</summary>
    public const int MaxTables = 100;

    private static readonly Spec[] Specs =
    [
        new("fleet_pg_table_live_tuples", "Live tuples (n_live_tup estimate).", static t => t.LiveTuples),
        new("fleet_pg_table_dead_tuples", "Dead tuples (n_dead_tup estimate).", static t => t.DeadTuples),
        new("fleet_pg_table_dead_tuple_ratio", "dead / (live + dead), 0..1; absent for an empty table.", static t => t.HasDeadRatio ? t.DeadRatio : null),
        new("fleet_pg_table_size_bytes", "Table size with indexes and TOAST, in bytes.", static t => t.HasTotalBytes ? t.TotalBytes : null),
        new("fleet_pg_table_bloat_bytes", "Estimated space beyond what live rows need, in bytes.", static t => t.HasEstimatedBloatBytes ? t.EstimatedBloatBytes : null),
        new("fleet_pg_table_bloat_ratio", "Estimated bloat as a fraction of the table size, 0..1.", static t => t.HasEstimatedBloatRatio ? t.EstimatedBloatRatio : null),
    ];

    public static void Write(PrometheusTextWriter w, NodeSnapshot.Types.TableHealth? health)
    {
        if (health is null)
        {
            return;
        }

        if (health.AsOf is { } asOf)
        {
            w.WriteGauge("fleet_pg_table_health_timestamp_seconds", "When the table figures were computed, in Unix seconds.", MetricLabels.UnixSeconds(asOf));
        }

        var tables = health.TopTables;
        var count = Math.Min(tables.Count, MaxTables);
        if (count == 0)
        {
            return;
        }

        foreach (var spec in Specs)
        {
            w.BeginFamily(spec.Name, PrometheusMetricType.Gauge, spec.Help);
            for (var i = 0; i < count; i++)
            {
                var table = tables[i];
                if (spec.Value(table) is { } value)
                {
                    w.BeginSample();
                    w.Label("datname", table.Database);
                    w.Label("table", table.Name);
                    w.EndSample(value);
                }
            }
        }
    }

    private sealed record Spec(string Name, string Help, Func<NodeSnapshot.Types.TableStats, double?> Value);
}
