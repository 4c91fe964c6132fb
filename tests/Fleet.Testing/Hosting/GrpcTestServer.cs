using System.Net;
using Fleet.Hosting.Grpc;
using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Fleet.Testing.Hosting;

/// <summary>
/// A real Kestrel server on a free loopback port serving gRPC with the daemons' own wiring
/// (<see cref="GrpcServerExtensions.AddFleetGrpc"/>, <see cref="KestrelGrpcExtensions.ListenGrpc"/>), for tests and
/// benchmarks. Errors logged by the server are kept so tests can assert there were none.
/// </summary>
public sealed class GrpcTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private bool _stopped;

    private GrpcTestServer(WebApplication app, Uri address, CollectingLoggerProvider logs)
    {
        _app = app;
        Address = address;
        Logs = logs;
    }

    public Uri Address { get; }

    public int Port => Address.Port;

    public IServiceProvider Services => _app.Services;

    public CollectingLoggerProvider Logs { get; }

    /// <summary>Starts a server; <paramref name="configureServices"/> registers service implementations, <paramref name="map"/> maps them.</summary>
    public static async Task<GrpcTestServer> StartAsync(
        Action<IServiceCollection> configureServices,
        Action<IEndpointRouteBuilder> map,
        Action<GrpcServerOptions>? configureGrpc = null,
        GrpcTlsOptions? tls = null,
        Action<GrpcServiceOptions>? configureService = null,
        LogLevel minimumLevel = LogLevel.Information)
    {
        var builder = WebApplication.CreateSlimBuilder();
        var logs = new CollectingLoggerProvider();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(minimumLevel);
        builder.Logging.AddProvider(logs);
        builder.WebHost.ConfigureKestrel(k => k.ListenGrpc(new IPEndPoint(IPAddress.Loopback, 0), tls));
        builder.Services.AddFleetGrpc(configureGrpc, configureService);
        configureServices(builder.Services);
        var app = builder.Build();
        map(app);
        app.MapFleetGrpcHealthAndReflection();
        await app.StartAsync();
        var bound = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        var port = new Uri(bound).Port;
        var scheme = tls is null ? "http" : "https";
        return new GrpcTestServer(app, new Uri($"{scheme}://127.0.0.1:{port}"), logs);
    }

    /// <summary>A server with <see cref="Echo.EchoServiceImpl"/>, health and reflection.</summary>
    public static Task<GrpcTestServer> StartEchoAsync(Action<GrpcServerOptions>? configureGrpc = null, GrpcTlsOptions? tls = null) =>
        StartAsync(s => s.AddSingleton<Echo.EchoServiceImpl>(), e => e.MapFleetGrpcService<Echo.EchoServiceImpl>(Echo.EchoService.Descriptor), configureGrpc, tls);

    /// <summary>
    /// Stops the host as a daemon stops (ApplicationStopping first, then Kestrel drains); <paramref name="cancellationToken"/>
    /// ends the grace period, after which open calls are aborted. Tests of draining call it, <see cref="DisposeAsync"/> does otherwise.
    /// </summary>
    public Task StopAsync(CancellationToken cancellationToken)
    {
        _stopped = true;
        return _app.StopAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopped)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await StopAsync(timeout.Token);
        }

        await _app.DisposeAsync();
    }
}
