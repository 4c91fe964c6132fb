using Fleet.Hosting.Grpc;
using Fleet.Testing.Hosting;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Fleet.Grpc.Tests.Hosts;

/// <summary>
/// A daemon host (agent or aggregator) built by its own Build method and started in-process, its gRPC listener
/// first and on a kernel-chosen loopback port; dialled with Fleet's client wiring. Its logs are collected.
/// </summary>
public sealed class RunningHost : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly WebApplication _app;

    private RunningHost(WebApplication app, CollectingLoggerProvider logs, Uri grpc)
    {
        _app = app;
        Logs = logs;
        GrpcAddress = grpc;
        Channel = GrpcChannels.ForAddress(grpc);
    }

    public Uri GrpcAddress { get; }

    public GrpcChannel Channel { get; }

    public CollectingLoggerProvider Logs { get; }

    /// <summary>Listener settings for a host: both on port 0, quiet console (the collected logs keep everything).</summary>
    public static Dictionary<string, string?> BaseSettings() => new()
    {
        ["Listen:Grpc"] = "127.0.0.1:0",
        ["Listen:Http"] = "127.0.0.1:0",
        ["Logging:LogLevel:Default"] = "Information",
        ["Logging:Console:LogLevel:Default"] = "None",
    };

    public static async Task<RunningHost> StartAsync(WebApplication app)
    {
        var logs = new CollectingLoggerProvider();
        app.Services.GetRequiredService<ILoggerFactory>().AddProvider(logs);
        try
        {
            using var timeout = new CancellationTokenSource(StartTimeout);
            await app.StartAsync(timeout.Token).WaitAsync(StartTimeout);
            // Kestrel binds (and lists) endpoints in the order the hosts configure them: gRPC, then HTTP.
            var grpc = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
            return new RunningHost(app, logs, new Uri($"http://127.0.0.1:{grpc.Port}"));
        }
        catch (Exception e)
        {
            await app.DisposeAsync();
            throw new InvalidOperationException("The host did not start. Its log:\n" + string.Join('\n', logs.Entries), e);
        }
    }

    /// <summary>Fails unless grpc.health.v1 reports the server SERVING.</summary>
    public async Task AssertServingAsync()
    {
        var reply = await new Health.HealthClient(Channel).CheckAsync(new HealthCheckRequest(), new CallOptions(deadline: DateTime.UtcNow.AddSeconds(15))).ResponseAsync;
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, reply.Status);
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            await _app.StopAsync(timeout.Token).WaitAsync(TimeSpan.FromSeconds(20));
        }
        finally
        {
            await _app.DisposeAsync();
        }
    }
}
