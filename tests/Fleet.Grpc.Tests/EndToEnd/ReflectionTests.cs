using Fleet.Testing;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Grpc.Reflection.V1;
using V1Alpha = Grpc.Reflection.V1Alpha;

namespace Fleet.Grpc.Tests.EndToEnd;

/// <summary>grpc.reflection.v1 and v1alpha, each through its own generated client: both must answer alike.</summary>
public sealed class ReflectionTests(EchoServerFixture fixture) : IClassFixture<EchoServerFixture>
{
    public static TheoryData<string> Versions => new() { "v1", "v1alpha" };

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task ListServices_NamesEveryMappedService(string version)
    {
        var response = await AskAsync(fixture.Channel, version, new ServerReflectionRequest { ListServices = "" });

        Assert.Equal(
            ["fleet.testing.v1.EchoService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"],
            response.ListServicesResponse.Service.Select(s => s.Name).Order(StringComparer.Ordinal));
    }

    public static TheoryData<string, string> Symbols => new()
    {
        { "v1", "fleet.testing.v1.EchoService" },
        { "v1", "fleet.testing.v1.EchoService.Chat" },
        { "v1", "fleet.testing.v1.EchoRequest" },
        { "v1alpha", "fleet.testing.v1.EchoService" },
        { "v1alpha", "fleet.testing.v1.EchoService.Chat" },
        { "v1alpha", "fleet.testing.v1.EchoRequest" },
    };

    [Theory]
    [MemberData(nameof(Symbols))]
    public async Task FileContainingSymbol_ReturnsDescriptorThatDefinesIt(string version, string symbol)
    {
        var response = await AskAsync(fixture.Channel, version, new ServerReflectionRequest { FileContainingSymbol = symbol });

        var files = response.FileDescriptorResponse.FileDescriptorProto.Select(FileDescriptorProto.Parser.ParseFrom).ToList();
        var echo = Assert.Single(files, f => f.Name == "fleet/testing/v1/echo.proto");
        Assert.Equal(["Echo", "Expand", "Collect", "Chat", "Stats"], echo.Service.Single().Method.Select(m => m.Name));
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task UnknownSymbol_IsNotFoundErrorResponse(string version)
    {
        var response = await AskAsync(fixture.Channel, version, new ServerReflectionRequest { FileContainingSymbol = "no.such.Thing" });

        Assert.Equal((int)StatusCode.NotFound, response.ErrorResponse.ErrorCode);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task FileByFilename_ReturnsTheFileUnderTheNameItsPackageGaveIt(string version)
    {
        // Grpc.HealthCheck compiled health.proto without its directory: the file is "health.proto", not "grpc/health/v1/health.proto".
        var name = HealthReflection.Descriptor.Name;

        var response = await AskAsync(fixture.Channel, version, new ServerReflectionRequest { FileByFilename = name });

        var file = FileDescriptorProto.Parser.ParseFrom(response.FileDescriptorResponse.FileDescriptorProto[0]);
        Assert.Equal("health.proto", file.Name);
        Assert.Equal("grpc.health.v1", file.Package);
        Assert.Equal("Health", file.Service.Single().Name);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task OneStream_AnswersEachRequestAsItArrives(string version)
    {
        // Peers such as grpcio's reflection client wait for each answer before sending the next request.
        using var call = Open(fixture.Channel, version);
        foreach (var (symbol, service) in new[] { ("fleet.testing.v1.EchoService", "EchoService"), ("grpc.health.v1.Health", "Health") })
        {
            await call.Write(new ServerReflectionRequest { FileContainingSymbol = symbol }).DefaultTimeout();
            var response = await call.Read().DefaultTimeout();
            Assert.NotNull(response);
            var file = FileDescriptorProto.Parser.ParseFrom(response.FileDescriptorResponse.FileDescriptorProto[0]);
            Assert.Equal(service, file.Service.Single().Name);
        }

        await call.Complete().DefaultTimeout();
        Assert.Null(await call.Read().DefaultTimeout());
    }

    /// <summary>One request, one response, then half-close: the stream must end cleanly.</summary>
    internal static async Task<ServerReflectionResponse> AskAsync(GrpcChannel channel, string version, ServerReflectionRequest request)
    {
        using var call = Open(channel, version);
        await call.Write(request).DefaultTimeout();
        var response = await call.Read().DefaultTimeout();
        await call.Complete().DefaultTimeout();
        Assert.Null(await call.Read().DefaultTimeout());
        return response ?? throw new InvalidOperationException("the reflection stream ended without a response");
    }

    /// <summary>
    /// A ServerReflectionInfo stream of either version, spoken in v1 messages: v1alpha's are the same on the wire,
    /// so they are converted through their bytes and each version still goes through its own generated client.
    /// </summary>
    private static ReflectionStream Open(GrpcChannel channel, string version)
    {
        if (version == "v1")
        {
            var call = new ServerReflection.ServerReflectionClient(channel).ServerReflectionInfo();
            return new ReflectionStream(
                call,
                call.RequestStream.WriteAsync,
                async () => await call.ResponseStream.MoveNext() ? call.ResponseStream.Current : null,
                call.RequestStream.CompleteAsync);
        }

        var alpha = new V1Alpha.ServerReflection.ServerReflectionClient(channel).ServerReflectionInfo();
        return new ReflectionStream(
            alpha,
            request => alpha.RequestStream.WriteAsync(V1Alpha.ServerReflectionRequest.Parser.ParseFrom(request.ToByteString())),
            async () => await alpha.ResponseStream.MoveNext() ? ServerReflectionResponse.Parser.ParseFrom(alpha.ResponseStream.Current.ToByteString()) : null,
            alpha.RequestStream.CompleteAsync);
    }

    private sealed record ReflectionStream(
        IDisposable Call, Func<ServerReflectionRequest, Task> Write, Func<Task<ServerReflectionResponse?>> Read, Func<Task> Complete) : IDisposable
    {
        public void Dispose() => Call.Dispose();
    }
}
