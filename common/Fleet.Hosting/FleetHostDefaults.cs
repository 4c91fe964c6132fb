using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Fleet.Hosting;

/// <summary>Process-level settings both daemons share, applied while their host is built.</summary>
public static class FleetHostDefaults
{
    /// <summary>
    /// How long a stop waits for in-flight calls before Kestrel aborts them. Link streams and watches end at
    /// once on shutdown (UNAVAILABLE), so this only bounds a misbehaving peer: SIGTERM ends a daemon within
    /// seconds, well inside Kubernetes' 30 s grace period.
    /// </summary>
    public static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Applies the defaults. An <paramref name="embedded"/> host (one of several in a process, as in
    /// <c>fleetctl local</c>) does not listen to SIGTERM/Ctrl-C itself: its owner stops it, in order.
    /// </summary>
    public static void Apply(WebApplicationBuilder builder, bool embedded)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = ShutdownTimeout);

        // The only health check is DrainingHealthCheck, Unhealthy by design while stopping: not an error to log.
        builder.Logging.AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks.DefaultHealthCheckService", LogLevel.None);
        if (embedded)
        {
            builder.Services.AddSingleton<IHostLifetime, EmbeddedHostLifetime>();
        }
    }

    /// <summary>A host lifetime that neither waits for nor handles process signals.</summary>
    private sealed class EmbeddedHostLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
