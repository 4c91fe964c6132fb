using Fleet.Agent.Actions;
using Fleet.Agent.Api;
using Fleet.Agent.Collection;
using Fleet.Agent.Configuration;
using Fleet.Agent.Link;
using Fleet.Agent.Memory;
using Fleet.Agent.Metrics;
using Fleet.Agent.RoleChecks;
using Fleet.Agent.State;
using Fleet.Hosting;
using Fleet.Protos.V1;
using Fleet.Hosting.Grpc;
using Fleet.Hosting.Prometheus;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace Fleet.Agent;

/// <summary>Builds the fleet-agent process: configuration, services, listeners and endpoints.</summary>
public static class AgentHost
{
    /// <summary>Environment variables with this prefix override configuration (FLEET_AGENT_Node__Name=db1).</summary>
    public const string EnvironmentPrefix = "FLEET_AGENT_";

    /// <summary>
    /// Builds the agent. <paramref name="configFile"/> is a JSON file (optional); <paramref name="overrides"/>
    /// are applied last (tests, the local fleet launcher); an <paramref name="embedded"/> host leaves process
    /// signals to its owner. Throws <see cref="OptionsValidationException"/> listing every bad key.
    /// </summary>
    public static WebApplication Build(string? configFile, IReadOnlyDictionary<string, string?>? overrides = null, TimeProvider? time = null, bool embedded = false)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        FleetHostDefaults.Apply(builder, embedded);
        HostConfiguration.Load(builder.Configuration, configFile, EnvironmentPrefix, overrides);
        var options = new AgentOptions();
        builder.Configuration.Bind(options);
        HostConfiguration.Validate(options, new AgentOptionsValidator());
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });

        builder.Services.AddSingleton<IValidateOptions<AgentOptions>, AgentOptionsValidator>();
        builder.Services.AddOptions<AgentOptions>().Bind(builder.Configuration).ValidateOnStart();
        builder.Services.AddSingleton(time ?? TimeProvider.System);
        // Without a state directory the highest epoch is kept in memory only (development without a data directory).
        var stateDirectory = options.Node.ResolveStateDirectory(options.Postgres.DataDirectory);
        var epochs = stateDirectory is null ? null : new EpochStore(stateDirectory);
        builder.Services.AddSingleton(sp => new AgentState(sp.GetRequiredService<TimeProvider>(), options.Aggregator.Endpoints, epochs));
        builder.Services.AddSingleton<LeaseClock>();
        builder.Services.AddSingleton<PgToolRunner>();
        builder.Services.AddSingleton<PostgresActions>();
        builder.Services.AddHostedService<SelfFencingLoop>();
        builder.Services.AddSingleton<Responsiveness>();
        builder.Services.AddSingleton<DetectionTiming>();
        builder.Services.AddSingleton<PostgresLivenessProbe>();
        builder.Services.AddHostedService<PostgresPingLoop>();
        builder.Services.AddHostedService<StorageProbeLoop>();
        builder.Services.AddHostedService<ReplicationTimeoutsLoop>();
        builder.Services.AddSingleton<HeapTrimStats>();
        builder.Services.AddHostedService<HeapTrimLoop>();
        builder.Services.AddPostgresCollection();
        builder.Services.AddArchiveVerification(builder.Configuration);
        builder.Services.AddSingleton<AgentCommandDispatcher>();
        builder.Services.AddHostedService<LinkClient>();
        builder.Services.AddSingleton<OperatorAudit>();
        builder.Services.AddSingleton<AgentApi>();
        builder.Services.AddFleetGrpc();
        builder.Services.AddFleetProcessMetrics();

        var tls = LoadTls(options.Tls);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.ListenGrpc(ListenEndpoint.Parse(options.Listen.Grpc, "Listen:Grpc"), tls);
            kestrel.Listen(ListenEndpoint.Parse(options.Listen.Http, "Listen:Http"), listen => listen.Protocols = HttpProtocols.Http1);
        });

        var app = builder.Build();
        app.UseFleetProcessMetrics();
        app.MapFleetGrpcService<AgentApi>(AgentService.Descriptor);
        app.MapFleetGrpcHealthAndReflection();
        app.MapRoleChecks();
        app.MapAgentMetrics();
        return app;
    }


    private static GrpcTlsOptions? LoadTls(TlsFileOptions tls) => tls.Enabled
        ? new GrpcTlsOptions
        {
            ServerCertificate = PemFiles.LoadCertificateWithKey(tls.CertificateFile!, tls.KeyFile!),
            ClientCertificateAuthority = PemFiles.LoadCertificate(tls.CaFile!),
        }
        : null;
}
