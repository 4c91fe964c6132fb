using Fleet.Hosting.Grpc;
using Fleet.Testing;
using Fleet.Testing.Echo;
using Fleet.Testing.Hosting;
using Grpc.Core;
using Grpc.Health.V1;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Fleet.Grpc.Tests.EndToEnd;

/// <summary>
/// Health while the host stops: NOT_SERVING as soon as it starts stopping (load balancers move away while the
/// listener still serves), and an open Watch gets NOT_SERVING and ends, so it does not hold the graceful stop.
/// Each test stops its own server.
/// </summary>
public sealed class HealthDrainTests
{
    [Fact]
    public async Task Check_OnceTheHostStartsStopping_IsNotServing_WhileCallsAreStillServed()
    {
        await using var server = await GrpcTestServer.StartEchoAsync();
        using var channel = GrpcChannels.ForAddress(server.Address);
        var health = new Health.HealthClient(channel);
        Assert.Equal(ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest()).ResponseAsync.DefaultTimeout()).Status);

        // ApplicationStopping alone, as the host's StopAsync does first: Kestrel keeps listening until it is stopped.
        server.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();

        foreach (var service in new[] { "", "fleet.testing.v1.EchoService", "grpc.health.v1.Health" })
        {
            var reply = await health.CheckAsync(new HealthCheckRequest { Service = service }).ResponseAsync.DefaultTimeout();
            Assert.True(reply.Status == ServingStatus.NotServing, $"'{service}': {reply.Status}");
        }

        var echo = await new EchoService.EchoServiceClient(channel).EchoAsync(new EchoRequest { Text = "draining" }).ResponseAsync.DefaultTimeout();
        Assert.Equal("draining", echo.Text);
    }

    [Fact]
    public async Task Watch_WhenTheHostStops_GetsNotServingAndEnds_SoTheStopIsNotHeld()
    {
        await using var server = await GrpcTestServer.StartEchoAsync();
        using var channel = GrpcChannels.ForAddress(server.Address);
        using var call = new Health.HealthClient(channel).Watch(new HealthCheckRequest { Service = "fleet.testing.v1.EchoService" });
        Assert.True(await call.ResponseStream.MoveNext().DefaultTimeout());
        Assert.Equal(ServingStatus.Serving, call.ResponseStream.Current.Status);

        // A grace far longer than the test's bound: a Watch that held the stop would keep it waiting all of it.
        using var grace = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var stop = server.StopAsync(grace.Token);

        Assert.True(await call.ResponseStream.MoveNext().DefaultTimeout());
        Assert.Equal(ServingStatus.NotServing, call.ResponseStream.Current.Status);
        Assert.False(await call.ResponseStream.MoveNext().DefaultTimeout());
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
        await stop.DefaultTimeout();
        Assert.False(grace.IsCancellationRequested);
    }
}
