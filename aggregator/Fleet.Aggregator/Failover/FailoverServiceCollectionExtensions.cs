using Fleet.Aggregator.Ingest;
using Fleet.Aggregator.State;
using Microsoft.Extensions.Options;

namespace Fleet.Aggregator.Failover;

internal static class FailoverServiceCollectionExtensions
{
    public static IServiceCollection AddFailover(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<IValidateOptions<FailoverOptions>, FailoverOptionsValidator>();
        services.AddOptions<FailoverOptions>().Bind(configuration.GetSection(FailoverOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<CommandTracker>();
        services.AddSingleton<ClusterEpochs>();
        services.AddSingleton<IEpochView>(sp => sp.GetRequiredService<ClusterEpochs>());
        services.AddSingleton<FailoverController>();
        services.AddHostedService(sp => sp.GetRequiredService<FailoverController>());
        services.AddSingleton<ILinkObserver>(sp => sp.GetRequiredService<FailoverController>());
        services.AddSingleton<IPrimaryView>(sp => sp.GetRequiredService<FailoverController>());
        return services;
    }
}
