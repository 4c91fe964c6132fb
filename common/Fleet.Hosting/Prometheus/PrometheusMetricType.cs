namespace Fleet.Hosting.Prometheus;

/// <summary>Metric types of the Prometheus text format that <see cref="PrometheusTextWriter"/> writes.</summary>
public enum PrometheusMetricType
{
    /// <summary>A value that can go up and down.</summary>
    Gauge,

    /// <summary>A cumulative value that only grows (until a reset); the name must end in <c>_total</c>.</summary>
    Counter,
}
