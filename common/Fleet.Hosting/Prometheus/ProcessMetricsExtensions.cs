using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Prometheus;

namespace Fleet.Hosting.Prometheus;

public static class ProcessMetricsExtensions
{
    /// <summary>Registers <see cref="ProcessMetrics"/> and <see cref="GrpcServerMetrics"/>.</summary>
    public static IServiceCollection AddFleetProcessMetrics(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton<ProcessMetrics>();
        services.AddSingleton<GrpcServerMetrics>();
        return services;
    }

    /// <summary>
    /// Measures HTTP requests (prometheus-net's http_* families, labelled by route endpoint, status codes
    /// reduced to their class) and gRPC calls. Call before the endpoints run, after routing.
    /// </summary>
    public static IApplicationBuilder UseFleetProcessMetrics(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var metrics = app.ApplicationServices.GetRequiredService<ProcessMetrics>();
        var grpc = app.ApplicationServices.GetRequiredService<GrpcServerMetrics>();
        app.UseHttpMetrics(options =>
        {
            options.SetMetricFactory(metrics.Factory);
            options.ReduceStatusCodeCardinality();
        });
        app.Use(grpc.InvokeAsync);
        return app;
    }
}
