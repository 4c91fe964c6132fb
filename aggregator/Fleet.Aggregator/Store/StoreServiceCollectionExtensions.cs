using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Fleet.Aggregator.Store;

public static class StoreServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="StoreOptions"/> (bound from the "Store" section of <paramref name="configuration"/>,
    /// validated on start), the store Store:Provider names (SQLite or PostgreSQL) as a singleton <c>IFleetStore</c>, and a hosted service that
    /// opens and migrates the database while the host starts, before any hosted service's StartAsync.
    /// </summary>
    public static IServiceCollection AddFleetStore(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        services.AddOptions<StoreOptions>()
            .Bind(configuration.GetSection(StoreOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StoreOptions>, StoreOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new SqliteFleetStore(
            sp.GetRequiredService<IOptions<StoreOptions>>(),
            sp.GetRequiredService<ILogger<SqliteFleetStore>>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<IHostEnvironment>()?.ContentRootPath));
        services.TryAddSingleton(sp => new PostgresFleetStore(
            sp.GetRequiredService<IOptions<StoreOptions>>(),
            sp.GetRequiredService<ILogger<PostgresFleetStore>>(),
            sp.GetRequiredService<TimeProvider>()));
        // Chosen when first asked for, after the options were validated at start.
        services.TryAddSingleton<IFleetStore>(sp => sp.GetRequiredService<IOptions<StoreOptions>>().Value.Provider == StoreProvider.Postgres
            ? sp.GetRequiredService<PostgresFleetStore>()
            : sp.GetRequiredService<SqliteFleetStore>());
        services.AddHostedService<StoreInitializer>();
        return services;
    }
}
