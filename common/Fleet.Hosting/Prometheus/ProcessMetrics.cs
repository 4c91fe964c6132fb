using Prometheus;

namespace Fleet.Hosting.Prometheus;

/// <summary>
/// The process's own instrumentation, kept by prometheus-net in a registry of this host (not the library's
/// static default one, which would also start its EventCounter and Meter listeners): process and .NET
/// runtime figures (process_*, dotnet_*), HTTP server requests (http_*) and gRPC server calls
/// (grpc_server_*). Each daemon appends it to its own /metrics.
/// </summary>
public sealed class ProcessMetrics
{
    public ProcessMetrics()
    {
        Registry = global::Prometheus.Metrics.NewCustomRegistry();
        DotNetStats.Register(Registry);
        Factory = global::Prometheus.Metrics.WithCustomRegistry(Registry);
    }

    public CollectorRegistry Registry { get; }

    public IMetricFactory Factory { get; }

    /// <summary>Writes every series in the Prometheus text format.</summary>
    public Task WriteAsync(Stream destination, CancellationToken cancellationToken) => Registry.CollectAndExportAsTextAsync(destination, cancellationToken);
}
