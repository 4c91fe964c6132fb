using System.Net;
using System.Net.Sockets;
using System.Text;
using Fleet.Testing;
using Grpc.Core;

namespace Fleet.Grpc.Tests.Malformed;

/// <summary>
/// Bad input against a real server: each request gets a gRPC status or a clean HTTP refusal, and the server keeps
/// serving. The same inputs run against the echo server and the real agent and aggregator hosts (subclasses).
/// </summary>
public abstract class MalformedInputTests(IMalformedInputTarget target) : IDisposable
{
    private readonly RawGrpcClient _raw = new(target.Address);

    [Theory]
    [MemberData(nameof(MalformedInputs.Names), MemberType = typeof(MalformedInputs))]
    public async Task BadBody_GetsItsGrpcStatus_AndServerKeepsServing(string input)
    {
        var bad = MalformedInputs.Get(input);

        var response = await _raw.PostAsync(target.UnaryPath, bad.Body(target.ValidRequest), headers: bad.Headers).DefaultTimeout();

        Assert.True(response.HttpStatus == HttpStatusCode.OK && response.GrpcStatus == bad.Expected, $"{input}: {response}");
        Assert.Equal(bad.ExpectedMessage, response.GrpcMessage);
        await target.AssertStillServingAsync();
    }

    [Theory]
    [InlineData("text/plain", "Content-Type 'text/plain' is not supported.")]
    [InlineData("application/json", "Content-Type 'application/json' is not supported.")]
    [InlineData("application/grpc-web", "Content-Type 'application/grpc-web' is not supported.")]
    [InlineData(null, "Content-Type is missing from the request.")]
    public async Task WrongContentType_Is415WithInternal(string? contentType, string message)
    {
        var response = await _raw.PostAsync(target.UnaryPath, RawGrpcClient.Frame(target.ValidRequest), contentType).DefaultTimeout();

        Assert.True(response.HttpStatus == HttpStatusCode.UnsupportedMediaType, response.ToString());
        Assert.Equal(StatusCode.Internal, response.GrpcStatus);
        Assert.Equal(message, response.GrpcMessage);
        await target.AssertStillServingAsync();
    }

    [Theory]
    [InlineData("application/grpc+proto")]
    [InlineData("application/grpc+json")]
    [InlineData("application/grpc; charset=utf-8")]
    public async Task GrpcContentTypeWithSubtypeOrParameter_IsServedAsProtobuf(string contentType)
    {
        // Grpc.AspNetCore accepts any application/grpc+subtype and always speaks protobuf (it has no JSON codec).
        var response = await _raw.PostAsync(target.UnaryPath, RawGrpcClient.Frame(target.ValidRequest), contentType).DefaultTimeout();

        Assert.True(response.GrpcStatus == StatusCode.OK, response.ToString());
        AssertOneUncompressedFrame(response.Body);
    }

    [Fact]
    public async Task UnsupportedEncoding_IsUnimplemented_AndNamesTheSupportedOnes()
    {
        var response = await _raw.PostAsync(
            target.UnaryPath, RawGrpcClient.Frame(target.ValidRequest, flag: 1), headers: new Dictionary<string, string> { ["grpc-encoding"] = "br" }).DefaultTimeout();

        Assert.True(response.GrpcStatus == StatusCode.Unimplemented, response.ToString());
        Assert.StartsWith("Unsupported grpc-encoding value 'br'.", response.GrpcMessage, StringComparison.Ordinal);
        Assert.Contains("gzip", response.Header("grpc-accept-encoding") ?? "", StringComparison.Ordinal);
        await target.AssertStillServingAsync();
    }

    [Theory]
    [InlineData("soon")]
    [InlineData("10")]
    [InlineData("-5S")]
    [InlineData("0S")]
    [InlineData("123456789S")]
    public async Task MalformedTimeout_IsIgnored_CallRunsWithoutDeadline(string timeout)
    {
        var response = await _raw.PostAsync(
            target.UnaryPath, RawGrpcClient.Frame(target.ValidRequest), headers: new Dictionary<string, string> { ["grpc-timeout"] = timeout }).DefaultTimeout();

        Assert.True(response.GrpcStatus == StatusCode.OK, $"{timeout}: {response}");
        AssertOneUncompressedFrame(response.Body);
    }

    [Theory]
    [InlineData("99999999S")]
    [InlineData("99999999H")]
    public async Task HugeTimeout_IsNoDeadline_NotAServerError(string timeout)
    {
        var response = await _raw.PostAsync(
            target.UnaryPath, RawGrpcClient.Frame(target.ValidRequest), headers: new Dictionary<string, string> { ["grpc-timeout"] = timeout }).DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, response.HttpStatus);
        Assert.True(response.GrpcStatus == StatusCode.OK, response.ToString());
    }

    [Theory]
    [InlineData("/fleet.testing.v1.NoSuchService/Echo", "Service is unimplemented.")]
    [InlineData("/grpc.health.v1.Health/DropTables", "Method is unimplemented.")]
    public async Task UnknownServiceOrMethod_IsUnimplementedTrailersOnly(string path, string message)
    {
        var response = await _raw.PostAsync(path, RawGrpcClient.Frame([])).DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, response.HttpStatus);
        Assert.True(response.GrpcStatus == StatusCode.Unimplemented, response.ToString());
        Assert.Equal(message, response.GrpcMessage);
        Assert.Empty(response.Body);
        await target.AssertStillServingAsync();
    }

    [Fact]
    public async Task Http11Request_OnTheCleartextPort_IsRefused_AndServerKeepsServing()
    {
        var request = $"POST {target.UnaryPath} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/grpc\r\nContent-Length: 5\r\n\r\n\0\0\0\0\0";

        var answer = await SendRawAsync(Encoding.ASCII.GetBytes(request));

        // The port speaks only HTTP/2 (prior knowledge); Kestrel recognises HTTP/1.x, answers 400 and closes.
        Assert.StartsWith("HTTP/1.1 400 Bad Request\r\n", Encoding.ASCII.GetString(answer), StringComparison.Ordinal);
        Assert.Contains("\r\nConnection: close\r\n", Encoding.ASCII.GetString(answer), StringComparison.Ordinal);
        await target.AssertStillServingAsync();
    }

    [Fact]
    public async Task BytesThatAreNotHttp_AreRefused_AndServerKeepsServing()
    {
        // Kestrel waits for a line break before it decides the bytes are neither the HTTP/2 preface nor HTTP/1.x
        // (until then they could be a long HTTP/1.x request line), so the garbage ends with one.
        var answer = await SendRawAsync([.. Enumerable.Repeat((byte)0xFF, 64), .. "\r\n"u8]);

        AssertGoAway(answer);
        await target.AssertStillServingAsync();
    }

    [Fact]
    public async Task GarbageFrameAfterTheHttp2Preface_IsRefused_AndServerKeepsServing()
    {
        // The client preface, then a frame header announcing a 16 MiB frame of unknown type on stream 1.
        byte[] bytes = [.. "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8, 0xFF, 0xFF, 0xFF, 0x77, 0xFF, 0x00, 0x00, 0x00, 0x01, .. new byte[32]];

        var answer = await SendRawAsync(bytes);

        AssertGoAway(answer);
        await target.AssertStillServingAsync();
    }

    public void Dispose()
    {
        _raw.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>A reply must be exactly one uncompressed gRPC frame.</summary>
    private static void AssertOneUncompressedFrame(byte[] body)
    {
        Assert.True(body.Length >= 5, $"{body.Length} body bytes");
        Assert.Equal(0, body[0]);
        Assert.Equal(body.Length - 5, (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(1)));
    }

    /// <summary>Writes <paramref name="bytes"/> on a new TCP connection and reads until the server closes it (which it must, within the timeout).</summary>
    private async Task<byte[]> SendRawAsync(byte[] bytes)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, target.Address.Port).DefaultTimeout();
        var stream = tcp.GetStream();
        await stream.WriteAsync(bytes).AsTask().DefaultTimeout();

        using var received = new MemoryStream();
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(TestTimeouts.Default);
        try
        {
            int read;
            while ((read = await ReadOrResetAsync(stream, buffer, cts.Token)) > 0)
            {
                received.Write(buffer, 0, read);
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            Assert.Fail($"the server kept the connection open; it sent {received.Length} bytes: {Convert.ToHexString(received.ToArray())}");
        }

        return received.ToArray();
    }

    /// <summary>A close may arrive as a reset once the server has sent its GOAWAY; both end the connection.</summary>
    private static async Task<int> ReadOrResetAsync(NetworkStream stream, byte[] buffer, CancellationToken cancellationToken)
    {
        try
        {
            return await stream.ReadAsync(buffer, cancellationToken);
        }
        catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset })
        {
            return 0;
        }
    }

    /// <summary>The server's answer holds an HTTP/2 GOAWAY frame (type 7) on stream 0 with a non-zero error code.</summary>
    private static void AssertGoAway(byte[] answer)
    {
        for (var offset = 0; offset + 9 <= answer.Length;)
        {
            var length = (answer[offset] << 16) | (answer[offset + 1] << 8) | answer[offset + 2];
            if (answer[offset + 3] == 7 && offset + 9 + 8 <= answer.Length)
            {
                var error = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(answer.AsSpan(offset + 9 + 4));
                Assert.NotEqual(0u, error);
                return;
            }

            offset += 9 + length;
        }

        Assert.Fail($"no GOAWAY in the server's {answer.Length} bytes: {Convert.ToHexString(answer)}");
    }
}
