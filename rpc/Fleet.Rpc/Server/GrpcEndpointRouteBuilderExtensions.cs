using System.Diagnostics.CodeAnalysis;
using Fleet.Rpc.Health;
using Fleet.Rpc.Reflection;
using ServiceDescriptor = Google.Protobuf.Reflection.ServiceDescriptor;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Fleet.Rpc.Server;

public static class GrpcEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps every method of <paramref name="service"/> to <typeparamref name="TService"/> (resolved from
    /// dependency injection per call). Unimplemented methods, and paths of unknown services, answer
    /// UNIMPLEMENTED.
    /// </summary>
    public static RouteGroupBuilder MapGrpcService<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicMethods)] TService>(
        this IEndpointRouteBuilder endpoints, ServiceDescriptor service)
        where TService : class
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(service);
        var provider = endpoints.ServiceProvider;
        var registry = provider.GetRequiredService<GrpcServiceRegistry>();
        var options = provider.GetRequiredService<IOptions<GrpcServerOptions>>().Value;
        var logger = provider.GetRequiredService<ILoggerFactory>().CreateLogger("Fleet.Rpc.Server");
        registry.Add(service);
        provider.GetRequiredService<HealthStatusRegistry>().SetStatus(service.FullName, Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving);

        var bound = ServiceMethodBinder.Bind<TService>(service, options, logger);
        var group = endpoints.MapGroup("/" + service.FullName);
        foreach (var method in bound)
        {
            group.MapPost("/" + method.Descriptor.Name, method.HandleAsync).WithDisplayName("gRPC " + method.Path);
        }

        MapUnimplementedFallback(endpoints, registry, logger);
        return group;
    }

    /// <summary>Maps grpc.reflection.v1 and v1alpha over every service mapped on this server.</summary>
    public static void MapGrpcReflectionService(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGrpcService<ReflectionServiceV1>(Grpc.Reflection.V1.ReflectionReflection.Descriptor.Services[0]);
        endpoints.MapGrpcService<ReflectionServiceV1Alpha>(Grpc.Reflection.V1Alpha.ReflectionReflection.Descriptor.Services[0]);
    }

    /// <summary>Maps grpc.health.v1.Health, answering from <see cref="HealthStatusRegistry"/>.</summary>
    public static void MapGrpcHealthService(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGrpcService<HealthService>(Grpc.Health.V1.HealthReflection.Descriptor.Services[0]);

        // Tell load balancers to drain before the listener closes.
        var registry = endpoints.ServiceProvider.GetRequiredService<HealthStatusRegistry>();
        endpoints.ServiceProvider.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(registry.SetAllNotServing);
    }

    private static void MapUnimplementedFallback(IEndpointRouteBuilder endpoints, GrpcServiceRegistry registry, ILogger logger)
    {
        if (registry.FallbackMapped)
        {
            return;
        }

        registry.FallbackMapped = true;

        // Literal routes win over this catch-all, so it only sees unknown services and unbound methods.
        endpoints.MapPost("/{service}/{method}", async context =>
        {
            if (!Protocol.GrpcProtocol.IsGrpcContentType(context.Request.ContentType))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }

            RpcServerLog.MethodNotImplemented(logger, context.Request.Path);
            await ServerCall.WriteTrailersOnlyAsync(context, new Status(StatusCode.Unimplemented, $"Method {context.Request.Path} is not implemented by this server."));
        }).WithDisplayName("gRPC unimplemented");
    }
}
