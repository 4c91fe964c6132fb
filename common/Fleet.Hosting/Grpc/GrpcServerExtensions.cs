using System.Diagnostics.CodeAnalysis;
using Grpc.AspNetCore.HealthChecks;
using Grpc.AspNetCore.Server;
using Grpc.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ServiceDescriptor = Google.Protobuf.Reflection.ServiceDescriptor;

namespace Fleet.Hosting.Grpc;

/// <summary>
/// Grpc.AspNetCore as Fleet's hosts configure it: message limits, no exception details, gzip bounded by
/// the receive limit, health (grpc.health.v1) and reflection (grpc.reflection.v1 and v1alpha).
/// </summary>
public static class GrpcServerExtensions
{
    /// <summary>What Grpc.AspNetCore reflects on in a service type (its activator and the generated binder).</summary>
    private const DynamicallyAccessedMemberTypes ServiceAccessibility =
        DynamicallyAccessedMemberTypes.PublicConstructors | DynamicallyAccessedMemberTypes.PublicMethods | DynamicallyAccessedMemberTypes.NonPublicMethods;

    /// <summary>Registers the gRPC server, health and reflection with Fleet's settings.</summary>
    public static IServiceCollection AddFleetGrpc(this IServiceCollection services, Action<GrpcServerOptions>? configure = null, Action<GrpcServiceOptions>? configureService = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<GrpcServerOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.Validate(o => o.MaxReceiveMessageSize > 0 && (o.MaxSendMessageSize is null || o.MaxSendMessageSize > 0),
            "gRPC message size limits must be positive.").ValidateOnStart();
        services.AddGrpc(grpc =>
        {
            grpc.Interceptors.Add<MalformedRequestInterceptor>();
            configureService?.Invoke(grpc);
        });
        services.AddOptions<GrpcServiceOptions>().Configure<IOptions<GrpcServerOptions>>((grpc, fleet) => Apply(grpc, fleet.Value));
        // Reflection from Grpc.Reflection's own implementations (v1alpha and v1) over the services this host
        // maps by descriptor: nothing looks descriptors up by reflection, so the agent compiles with Native AOT.
        services.AddSingleton<MappedGrpcServices>();
        services.AddSingleton(sp => new ReflectionServiceImpl(sp.GetRequiredService<MappedGrpcServices>().Read()));
        services.AddSingleton(sp => new ReflectionV1ServiceImpl(sp.GetRequiredService<MappedGrpcServices>().Read()));
        services.AddGrpcHealthChecks().AddCheck<DrainingHealthCheck>(DrainingHealthCheck.Name);
        return services;
    }

    /// <summary>Maps <typeparamref name="TService"/> (a generated service base) and names <paramref name="service"/> in grpc.health.v1.</summary>
    public static GrpcServiceEndpointConventionBuilder MapFleetGrpcService<[DynamicallyAccessedMembers(ServiceAccessibility)] TService>(
        this IEndpointRouteBuilder endpoints, ServiceDescriptor service)
        where TService : class
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(service);
        var mapped = endpoints.MapGrpcService<TService>();
        endpoints.ServiceProvider.GetRequiredService<MappedGrpcServices>().Add(service);
        MapHealth(endpoints, service.FullName);
        return mapped;
    }

    /// <summary>
    /// Maps grpc.health.v1.Health (Grpc.AspNetCore.HealthChecks: SERVING while the host runs, NOT_SERVING once
    /// it drains, see <see cref="DrainingHealthCheck"/>) and server reflection v1 and v1alpha over every mapped service.
    /// </summary>
    public static void MapFleetGrpcHealthAndReflection(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var mapped = endpoints.ServiceProvider.GetRequiredService<MappedGrpcServices>();
        endpoints.MapGrpcHealthChecksService();
        mapped.Add(global::Grpc.Health.V1.Health.Descriptor);
        MapHealth(endpoints, global::Grpc.Health.V1.Health.Descriptor.FullName);
        endpoints.MapGrpcService<ReflectionV1ServiceImpl>();
        mapped.Add(global::Grpc.Reflection.V1.ServerReflection.Descriptor);
        endpoints.MapGrpcService<ReflectionServiceImpl>();
        mapped.Add(global::Grpc.Reflection.V1Alpha.ServerReflection.Descriptor);
    }

    /// <summary>Names a service in grpc.health.v1; its status follows every registered health check.</summary>
    private static void MapHealth(IEndpointRouteBuilder endpoints, string service) =>
        endpoints.ServiceProvider.GetRequiredService<IOptions<GrpcHealthChecksOptions>>().Value.Services.Map(service, _ => true);

    private static void Apply(GrpcServiceOptions grpc, GrpcServerOptions fleet)
    {
        grpc.MaxReceiveMessageSize = fleet.MaxReceiveMessageSize;
        grpc.MaxSendMessageSize = fleet.MaxSendMessageSize;
        grpc.EnableDetailedErrors = fleet.EnableDetailedErrors;
        grpc.ResponseCompressionAlgorithm = fleet.CompressResponses ? "gzip" : null;
    }
}
