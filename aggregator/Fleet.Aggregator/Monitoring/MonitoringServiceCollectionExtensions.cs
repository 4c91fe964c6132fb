using Fleet.Aggregator.Ingest;
using Fleet.Aggregator.State;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Fleet.Aggregator.Monitoring;

internal static class MonitoringServiceCollectionExtensions
{
    /// <summary>Registers the monitor once under each role it plays, plus the event recorder and the tail of a shared store.</summary>
    public static IServiceCollection AddFleetMonitoring(this IServiceCollection services)
    {
        services.TryAddSingleton<EventRecorder>();
        services.AddHostedService(sp => sp.GetRequiredService<EventRecorder>());
        services.AddHostedService<SharedEventTail>();
        services.TryAddSingleton<AlertBook>();
        services.TryAddSingleton<IAlertView>(sp => sp.GetRequiredService<AlertBook>());
        services.TryAddSingleton<FleetReader>();
        services.TryAddSingleton<FleetMonitor>();
        services.AddHostedService(sp => sp.GetRequiredService<FleetMonitor>());
        services.AddSingleton<ILinkObserver>(sp => sp.GetRequiredService<FleetMonitor>());
        return services;
    }
}
