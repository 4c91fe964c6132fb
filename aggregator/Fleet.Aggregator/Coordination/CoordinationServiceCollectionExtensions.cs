using Fleet.Aggregator.Failover;
using Microsoft.Extensions.Options;

namespace Fleet.Aggregator.Coordination;

internal static class CoordinationServiceCollectionExtensions
{
    public static IServiceCollection AddCoordination(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<IValidateOptions<CoordinationOptions>, CoordinationOptionsValidator>();
        services.AddOptions<CoordinationOptions>().Bind(configuration.GetSection(CoordinationOptions.SectionName)).ValidateOnStart();
        var mode = configuration.GetSection(CoordinationOptions.SectionName).GetValue<CoordinationMode?>(nameof(CoordinationOptions.Mode)) ?? CoordinationMode.None;
        if (mode == CoordinationMode.Etcd)
        {
            services.AddSingleton<EtcdLeadership>();
            services.AddSingleton<ILeadership>(sp => sp.GetRequiredService<EtcdLeadership>());
            services.AddHostedService(sp => sp.GetRequiredService<EtcdLeadership>());
            services.AddSingleton<IClusterStateStore>(sp => new EtcdClusterState(sp.GetRequiredService<EtcdLeadership>(), sp.GetRequiredService<TimeProvider>()));
        }
        else
        {
            services.AddSingleton<ILeadership>(sp =>
            {
                var options = sp.GetRequiredService<IOptions<CoordinationOptions>>().Value;
                return new SoleLeadership(CoordinationNames.Name(options), options.AdvertiseAddress);
            });
            services.AddSingleton<IClusterStateStore, LocalClusterState>();
        }

        return services;
    }
}
