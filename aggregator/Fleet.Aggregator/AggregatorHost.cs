using Fleet.Aggregator.Api;
using Fleet.Aggregator.Configuration;
using Fleet.Aggregator.Dashboard;
using Fleet.Aggregator.Coordination;
using Fleet.Aggregator.Delivery;
using Fleet.Aggregator.Failover;
using Fleet.Aggregator.Health;
using Fleet.Aggregator.Ingest;
using Fleet.Aggregator.Metrics;
using Fleet.Aggregator.Monitoring;
using Fleet.Aggregator.State;
using Fleet.Aggregator.Store;
using Fleet.Hosting;
using Fleet.Protos.V1;
using Fleet.Hosting.Grpc;
using Fleet.Hosting.Prometheus;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace Fleet.Aggregator;

/// <summary>Builds the fleet-aggregator process: configuration, services, listeners and endpoints.</summary>
public static class AggregatorHost
{
    /// <summary>Environment variables with this prefix override configuration (FLEET_AGGREGATOR_Region=kr-central).</summary>
    public const string EnvironmentPrefix = "FLEET_AGGREGATOR_";

    /// <summary>
    /// Builds the aggregator from <paramref name="configFile"/> (optional) and <paramref name="overrides"/>;
    /// an <paramref name="embedded"/> host leaves process signals to its owner.
    /// </summary>
    public static WebApplication Build(string? configFile, IReadOnlyDictionary<string, string?>? overrides = null, TimeProvider? time = null, bool embedded = false)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        FleetHostDefaults.Apply(builder, embedded);
        HostConfiguration.Load(builder.Configuration, configFile, EnvironmentPrefix, overrides);
        var options = new AggregatorOptions();
        builder.Configuration.Bind(options);
        HostConfiguration.Validate(options, new AggregatorOptionsValidator());
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });

        var services = builder.Services;
        services.AddSingleton<IValidateOptions<AggregatorOptions>, AggregatorOptionsValidator>();
        services.AddOptions<AggregatorOptions>().Bind(builder.Configuration).ValidateOnStart();
        services.AddSingleton(time ?? TimeProvider.System);
        services.AddFleetGrpc(o => o.MaxReceiveMessageSize = options.Link.MaxMessageBytes, grpc => grpc.Interceptors.Add<RefusalInterceptor>());
        services.AddFleetProcessMetrics();
        services.AddFleetStore(builder.Configuration);
        services.AddHealthRules(builder.Configuration);
        services.AddSingleton<FleetState>();
        services.AddSingleton<FleetChangeFeed>();
        services.AddSingleton<AgentSessions>();
        services.AddSingleton<IngestCounters>();
        services.AddFleetMonitoring();
        services.AddAlertDelivery(builder.Configuration);
        services.AddCoordination(builder.Configuration);
        services.AddFailover(builder.Configuration);
        services.AddSingleton<AgentLinkService>();
        services.AddSingleton<FleetQueries>();
        services.AddSingleton<FleetApi>();

        var tls = options.Tls.Enabled
            ? new GrpcTlsOptions
            {
                ServerCertificate = PemFiles.LoadCertificateWithKey(options.Tls.CertificateFile!, options.Tls.KeyFile!),
                ClientCertificateAuthority = PemFiles.LoadCertificate(options.Tls.CaFile!),
            }
            : null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.ListenGrpc(ListenEndpoint.Parse(options.Listen.Grpc, "Listen:Grpc"), tls);
            kestrel.Listen(ListenEndpoint.Parse(options.Listen.Http, "Listen:Http"), listen => listen.Protocols = HttpProtocols.Http1);
        });

        var app = builder.Build();
        app.UseFleetProcessMetrics();

        // The monitor publishes node views through the reader; build it now, not at the first API call.
        app.Services.GetRequiredService<FleetReader>();
        app.MapFleetGrpcService<AgentLinkService>(AgentLink.Descriptor);
        app.MapFleetGrpcService<FleetApi>(FleetService.Descriptor);
        app.MapFleetGrpcHealthAndReflection();
        app.MapHttpApi();
        app.MapDashboard();
        app.MapAggregatorMetrics();
        return app;
    }
}
