using Fleet.Agent.Configuration;
using Fleet.Agent.State;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Fleet.Agent.Collection;

/// <summary>Registers PostgreSQL collection with the host.</summary>
public static class CollectionServiceCollectionExtensions
{
    /// <summary>
    /// Adds the connection factory, the collector, the <see cref="SnapshotBoard"/>, and the collection loop
    /// as a hosted service that is also the <see cref="ISnapshotRefresher"/>. Needs
    /// IOptions&lt;AgentOptions&gt; and a <see cref="TimeProvider"/> (TimeProvider.System if none is registered).
    /// </summary>
    public static IServiceCollection AddPostgresCollection(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<SnapshotBoard>();
        services.TryAddSingleton<PostgresConnectionFactory>();
        services.TryAddSingleton<PostgresCollector>();
        services.TryAddSingleton<DetectionProblem>();
        services.TryAddSingleton<CollectionStats>();
        services.TryAddSingleton(sp => new StorageHealth(sp.GetRequiredService<TimeProvider>())
        {
            StallTimeout = sp.GetRequiredService<IOptions<AgentOptions>>().Value.Postgres.StorageStallTimeout,
        });
        services.TryAddSingleton<CollectionLoop>();
        services.TryAddSingleton<ISnapshotRefresher>(sp => sp.GetRequiredService<CollectionLoop>());
        services.AddHostedService(sp => sp.GetRequiredService<CollectionLoop>());
        return services;
    }
}
