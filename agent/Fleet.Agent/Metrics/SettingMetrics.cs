using Fleet.Hosting.Prometheus;
using Fleet.Protos.V1;

namespace Fleet.Agent.Metrics;

/// <summary>
/// fleet_pg_setting: the numeric and boolean server settings the snapshot carries, one series per setting
/// (label <c>name</c>), in base units (bytes, seconds, 1/0). Read every Collection:SlowInterval, so up to
/// that old; fleet_pg_settings_timestamp_seconds says when. <see cref="MaxSettings"/> caps the series.
/// </summary>
internal static class SettingMetrics
{
    /// <summary>Hard cap on settings exported, whatever the snapshot carries (the collector reads at most as many).</summary>
    public const int MaxSettings = 1000;

    public static void Write(PrometheusTextWriter w, NodeSnapshot.Types.Settings? settings)
    {
        if (settings is null)
        {
            return;
        }

        if (settings.AsOf is { } asOf)
        {
            w.WriteGauge("fleet_pg_settings_timestamp_seconds", "When the server settings were read, in Unix seconds.", MetricLabels.UnixSeconds(asOf));
        }

        var items = settings.Items;
        var count = Math.Min(items.Count, MaxSettings);
        if (count == 0)
        {
            return;
        }

        w.BeginFamily(
            "fleet_pg_setting",
            PrometheusMetricType.Gauge,
            "Numeric and boolean server setting (pg_settings) by name, in base units: memory in bytes, time in seconds, booleans 1/0, other numbers as PostgreSQL reports them; -1 (disabled) stays -1.");
        for (var i = 0; i < count; i++)
        {
            var item = items[i];
            w.Sample("name", item.Name, item.Value);
        }
    }
}
