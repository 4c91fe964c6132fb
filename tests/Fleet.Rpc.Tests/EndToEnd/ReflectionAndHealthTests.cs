using Fleet.Testing;
using Google.Protobuf.Reflection;
using Grpc.Health.V1;
using Grpc.Reflection.V1;

namespace Fleet.Rpc.Tests.EndToEnd;

public sealed class ReflectionAndHealthTests(EchoServerFixture fixture) : IClassFixture<EchoServerFixture>
{
    private static readonly Method<ServerReflectionRequest, ServerReflectionResponse> ReflectionMethod =
        Method<ServerReflectionRequest, ServerReflectionResponse>.FromDescriptor(ReflectionReflection.Descriptor.Services[0].GetMethod("ServerReflectionInfo"));

    private static readonly Method<HealthCheckRequest, HealthCheckResponse> CheckMethod =
        Method<HealthCheckRequest, HealthCheckResponse>.FromDescriptor(HealthReflection.Descriptor.Services[0].GetMethod("Check"));

    private static readonly Method<HealthCheckRequest, HealthCheckResponse> WatchMethod =
        Method<HealthCheckRequest, HealthCheckResponse>.FromDescriptor(HealthReflection.Descriptor.Services[0].GetMethod("Watch"));

    [Fact]
    public async Task Reflection_ListsEveryMappedService()
    {
        var response = await AskAsync(new ServerReflectionRequest { ListServices = "" });

        Assert.Equal(
            ["fleet.testing.v1.EchoService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"],
            response.ListServicesResponse.Service.Select(s => s.Name).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("fleet.testing.v1.EchoService")]
    [InlineData("fleet.testing.v1.EchoService.Chat")]
    [InlineData("fleet.testing.v1.EchoRequest")]
    public async Task Reflection_FileContainingSymbol_ReturnsDescriptorThatDefinesIt(string symbol)
    {
        var response = await AskAsync(new ServerReflectionRequest { FileContainingSymbol = symbol });

        var files = response.FileDescriptorResponse.FileDescriptorProto.Select(FileDescriptorProto.Parser.ParseFrom).ToList();
        var echo = Assert.Single(files, f => f.Name == "fleet/testing/v1/echo.proto");
        Assert.Equal(["Echo", "Expand", "Collect", "Chat", "Stats"], echo.Service.Single().Method.Select(m => m.Name));
    }

    [Fact]
    public async Task Reflection_UnknownSymbol_IsNotFoundErrorResponse()
    {
        var response = await AskAsync(new ServerReflectionRequest { FileContainingSymbol = "no.such.Thing" });

        Assert.Equal((int)StatusCode.NotFound, response.ErrorResponse.ErrorCode);
    }

    [Fact]
    public async Task Reflection_FileByFilename_IncludesDependencies()
    {
        var response = await AskAsync(new ServerReflectionRequest { FileByFilename = "grpc/health/v1/health.proto" });

        var file = FileDescriptorProto.Parser.ParseFrom(response.FileDescriptorResponse.FileDescriptorProto[0]);
        Assert.Equal("grpc.health.v1", file.Package);
    }

    [Fact]
    public async Task Health_Check_ServerAndServicesServing_UnknownIsNotFound()
    {
        var overall = await fixture.Channel.UnaryCall(CheckMethod, new HealthCheckRequest()).ResponseAsync.DefaultTimeout();
        var echo = await fixture.Channel.UnaryCall(CheckMethod, new HealthCheckRequest { Service = "fleet.testing.v1.EchoService" }).ResponseAsync.DefaultTimeout();
        var unknown = await Assert.ThrowsAsync<RpcException>(() => fixture.Channel.UnaryCall(CheckMethod, new HealthCheckRequest { Service = "no.Such" }).ResponseAsync).DefaultTimeout();

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, overall.Status);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, echo.Status);
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Health_Watch_StreamsChanges()
    {
        var registry = (Fleet.Rpc.Health.HealthStatusRegistry)fixture.Server.Services.GetService(typeof(Fleet.Rpc.Health.HealthStatusRegistry))!;
        using var call = fixture.Channel.ServerStreamingCall(WatchMethod, new HealthCheckRequest { Service = "test.Watched" });

        Assert.True(await call.ResponseStream.MoveNext().DefaultTimeout());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.ServiceUnknown, call.ResponseStream.Current.Status);
        registry.SetStatus("test.Watched", HealthCheckResponse.Types.ServingStatus.NotServing);
        Assert.True(await call.ResponseStream.MoveNext().DefaultTimeout());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, call.ResponseStream.Current.Status);
    }

    private async Task<ServerReflectionResponse> AskAsync(ServerReflectionRequest request)
    {
        using var call = fixture.Channel.DuplexStreamingCall(ReflectionMethod);
        await call.RequestStream.WriteAsync(request).DefaultTimeout();
        Assert.True(await call.ResponseStream.MoveNext().DefaultTimeout());
        var response = call.ResponseStream.Current;
        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext().DefaultTimeout());
        return response;
    }
}
