using System.Net;
using System.Net.Sockets;
using System.Text;
using Fleet.Rpc.Tests.EndToEnd;
using Fleet.Testing;
using Fleet.Testing.Echo;
using Google.Protobuf;

namespace Fleet.Rpc.Tests.Malformed;

/// <summary>Bad input gets the status the gRPC specification prescribes, and the server keeps serving.</summary>
public sealed class MalformedInputTests(EchoServerFixture fixture) : IClassFixture<EchoServerFixture>, IDisposable
{
    private const string EchoPath = "/fleet.testing.v1.EchoService/Echo";
    private readonly RawGrpcClient _raw = new(fixture.Server.Address);

    public static TheoryData<string, byte[], StatusCode> BadBodies => new()
    {
        { "truncated frame (declares 100 bytes, sends 10)", RawGrpcClient.Frame(new byte[10], declaredLength: 100), StatusCode.Internal },
        { "truncated header", [0, 0, 0], StatusCode.Internal },
        { "compressed flag 2", RawGrpcClient.Frame(new EchoRequest { Text = "x" }.ToByteArray(), flag: 2), StatusCode.Internal },
        { "compressed flag without grpc-encoding", RawGrpcClient.Frame(new EchoRequest { Text = "x" }.ToByteArray(), flag: 1), StatusCode.Internal },
        { "declared length over the limit", RawGrpcClient.Frame([], declaredLength: 0x7FFFFFFF), StatusCode.ResourceExhausted },
        { "garbage protobuf", RawGrpcClient.Frame([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]), StatusCode.Internal },
        { "no message for a unary method", [], StatusCode.Internal },
        { "two messages for a unary method", [.. RawGrpcClient.Frame(new EchoRequest().ToByteArray()), .. RawGrpcClient.Frame(new EchoRequest().ToByteArray())], StatusCode.Internal },
    };

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task BadBody_GetsGrpcStatus_AndServerKeepsServing(string what, byte[] body, StatusCode expected)
    {
        var response = await _raw.PostAsync(EchoPath, body).DefaultTimeout();

        Assert.True(response.HttpStatus == HttpStatusCode.OK, what);
        Assert.Equal(expected, response.GrpcStatus);
        Assert.False(string.IsNullOrEmpty(response.GrpcMessage), "the status explains itself");
        await AssertStillServingAsync();
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/json")]
    [InlineData("application/grpc+json")]
    [InlineData(null)]
    public async Task WrongContentType_Is415(string? contentType)
    {
        var response = await _raw.PostAsync(EchoPath, RawGrpcClient.Frame(new EchoRequest().ToByteArray()), contentType).DefaultTimeout();

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.HttpStatus);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task GrpcProtoContentType_IsAccepted()
    {
        var response = await _raw.PostAsync(EchoPath, RawGrpcClient.Frame(new EchoRequest { Text = "p" }.ToByteArray()), "application/grpc+proto").DefaultTimeout();

        Assert.Equal(StatusCode.OK, response.GrpcStatus);
        Assert.Equal("p", EchoReply.Parser.ParseFrom(response.Body.AsSpan(5)).Text);
    }

    [Fact]
    public async Task UnsupportedEncoding_IsUnimplemented()
    {
        var response = await _raw.PostAsync(EchoPath, RawGrpcClient.Frame([], flag: 1), headers: new Dictionary<string, string> { ["grpc-encoding"] = "br" }).DefaultTimeout();

        Assert.Equal(StatusCode.Unimplemented, response.GrpcStatus);
    }

    [Fact]
    public async Task MalformedTimeout_IsInternal()
    {
        var response = await _raw.PostAsync(EchoPath, RawGrpcClient.Frame([]), headers: new Dictionary<string, string> { ["grpc-timeout"] = "soon" }).DefaultTimeout();

        Assert.Equal(StatusCode.Internal, response.GrpcStatus);
    }

    [Theory]
    [InlineData("99999999S")]
    [InlineData("99999999H")]
    public async Task HugeTimeout_IsNoDeadline_NotAServerError(string timeout)
    {
        var response = await _raw.PostAsync(EchoPath, RawGrpcClient.Frame(new EchoRequest { Text = "t" }.ToByteArray()), headers: new Dictionary<string, string> { ["grpc-timeout"] = timeout }).DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, response.HttpStatus);
        Assert.Equal(StatusCode.OK, response.GrpcStatus);
    }

    [Fact]
    public async Task UnknownMethod_IsUnimplementedTrailersOnly()
    {
        var response = await _raw.PostAsync("/fleet.testing.v1.EchoService/DropTables", RawGrpcClient.Frame([])).DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, response.HttpStatus);
        Assert.Equal(StatusCode.Unimplemented, response.GrpcStatus);
        Assert.Empty(response.Body);
    }

    [Fact]
    public async Task Http11Request_OnCleartextPort_IsRefused_AndServerKeepsServing()
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, fixture.Server.Port).DefaultTimeout();
        var stream = tcp.GetStream();
        var request = $"POST {EchoPath} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/grpc\r\nContent-Length: 5\r\n\r\n\0\0\0\0\0";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request)).AsTask().DefaultTimeout();

        var buffer = new byte[4096];
        var total = 0;
        int read;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while ((read = await stream.ReadAsync(buffer.AsMemory(total), cts.Token)) > 0 && total < buffer.Length)
        {
            total += read;
        }

        // The server speaks only HTTP/2 here: no HTTP/1.1 response, the connection is closed (after a GOAWAY).
        Assert.False(Encoding.ASCII.GetString(buffer, 0, total).StartsWith("HTTP/1.1 200", StringComparison.Ordinal));
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task ResetMidStream_DoesNotDisturbOtherCalls()
    {
        using var cts = new CancellationTokenSource();
        using var doomed = fixture.Client.Chat(new Client.CallOptions(cancellationToken: cts.Token));
        await doomed.RequestStream.WriteAsync(new EchoRequest { Text = "a" }).DefaultTimeout();
        Assert.True(await doomed.ResponseStream.MoveNext().DefaultTimeout());

        await cts.CancelAsync();

        await AssertStillServingAsync();
    }

    public void Dispose() => _raw.Dispose();

    private async Task AssertStillServingAsync()
    {
        var reply = await fixture.Client.Echo(new EchoRequest { Text = "still here" }).ResponseAsync.DefaultTimeout();
        Assert.Equal("still here", reply.Text);
    }
}
