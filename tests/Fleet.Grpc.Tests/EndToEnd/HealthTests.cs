using Fleet.Testing;
using Grpc.Core;
using Grpc.Health.V1;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Fleet.Grpc.Tests.EndToEnd;

/// <summary>grpc.health.v1 as Fleet maps it: the server (""), the health service and every mapped service follow the host's health checks.</summary>
public sealed class HealthTests(EchoServerFixture fixture) : IClassFixture<EchoServerFixture>
{
    private Health.HealthClient Health => new(fixture.Channel);

    [Theory]
    [InlineData("")]
    [InlineData("fleet.testing.v1.EchoService")]
    [InlineData("grpc.health.v1.Health")]
    public async Task Check_ServerAndMappedServices_AreServing(string service)
    {
        var reply = await Health.CheckAsync(new HealthCheckRequest { Service = service }).ResponseAsync.DefaultTimeout();

        Assert.Equal(ServingStatus.Serving, reply.Status);
    }

    [Fact]
    public async Task Check_UnknownService_IsNotFound()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => Health.CheckAsync(new HealthCheckRequest { Service = "no.Such" }).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
    }

    [Fact]
    public async Task Watch_MappedService_StartsServing()
    {
        using var cts = new CancellationTokenSource();
        using var call = Health.Watch(new HealthCheckRequest { Service = "fleet.testing.v1.EchoService" }, cancellationToken: cts.Token);

        Assert.True(await call.ResponseStream.MoveNext().DefaultTimeout());
        Assert.Equal(ServingStatus.Serving, call.ResponseStream.Current.Status);
        await cts.CancelAsync();
    }

    [Fact]
    public async Task Watch_UnknownService_IsServiceUnknown_AndStaysOpen()
    {
        using var cts = new CancellationTokenSource();
        using var call = Health.Watch(new HealthCheckRequest { Service = "test.Watched" }, cancellationToken: cts.Token);

        Assert.True(await call.ResponseStream.MoveNext().DefaultTimeout());
        Assert.Equal(ServingStatus.ServiceUnknown, call.ResponseStream.Current.Status);
        // The spec keeps the stream open (the service may appear later); ending it is the client's choice.
        var next = call.ResponseStream.MoveNext();
        await cts.CancelAsync();
        var ex = await Assert.ThrowsAsync<RpcException>(() => next).DefaultTimeout();
        Assert.Equal(StatusCode.Cancelled, ex.StatusCode);
    }
}
