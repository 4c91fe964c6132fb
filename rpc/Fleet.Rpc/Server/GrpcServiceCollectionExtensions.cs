using Fleet.Rpc.Health;
using Fleet.Rpc.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Fleet.Rpc.Server;

public static class GrpcServiceCollectionExtensions
{
    /// <summary>Registers the gRPC server infrastructure (options, registry, health, reflection).</summary>
    public static IServiceCollection AddFleetRpc(this IServiceCollection services, Action<GrpcServerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<GrpcServerOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.Validate(o => o.MaxReceiveMessageSize > 0 && (o.MaxSendMessageSize is null || o.MaxSendMessageSize > 0),
            "Grpc message size limits must be positive.").ValidateOnStart();
        services.AddRouting();
        services.TryAddSingleton<GrpcServiceRegistry>();
        services.TryAddSingleton<HealthStatusRegistry>();
        services.TryAddSingleton<ReflectionServiceV1>();
        services.TryAddSingleton<ReflectionServiceV1Alpha>();
        services.TryAddSingleton<HealthService>();
        return services;
    }
}
