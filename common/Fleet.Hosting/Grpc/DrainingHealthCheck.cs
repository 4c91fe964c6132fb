using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace Fleet.Hosting.Grpc;

/// <summary>
/// Unhealthy from the moment the host starts draining: grpc.health.v1 then answers NOT_SERVING for the
/// server and every service (Check), and open Watch calls get NOT_SERVING and end, so load balancers stop
/// sending calls before the listener closes.
/// </summary>
internal sealed class DrainingHealthCheck(IHostApplicationLifetime lifetime) : IHealthCheck
{
    public const string Name = "draining";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(lifetime.ApplicationStopping.IsCancellationRequested
            ? HealthCheckResult.Unhealthy("the host is shutting down")
            : HealthCheckResult.Healthy());
}
