using System.IO.Compression;
using Fleet.Grpc.Tests.Malformed;
using Fleet.Hosting.Grpc;
using Fleet.Testing;
using Fleet.Testing.Echo;
using Fleet.Testing.Hosting;
using Google.Protobuf;
using Grpc.Core;

namespace Fleet.Grpc.Tests.EndToEnd;

public sealed class MetadataSizeCompressionTests(EchoServerFixture fixture) : IClassFixture<EchoServerFixture>
{
    private const int FourMiB = 4 * 1024 * 1024;

    /// <summary>Grpc.Net.Client turns this call header into grpc-encoding and compresses the request message.</summary>
    private static Metadata GzipRequest => new() { { "grpc-internal-encoding-request", "gzip" } };

    [Fact]
    public async Task Metadata_TextAndBinary_EchoedInHeadersAndTrailers()
    {
        var binary = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        var headers = new Metadata { { "x-echo-text", "hello world" }, { "x-echo-data-bin", binary } };

        using var call = fixture.Client.EchoAsync(new EchoRequest { Text = "m" }, new CallOptions(headers));
        await call.ResponseAsync.DefaultTimeout();
        var responseHeaders = await call.ResponseHeadersAsync.DefaultTimeout();

        foreach (var received in new[] { responseHeaders, call.GetTrailers() })
        {
            Assert.Equal("hello world", received.GetValue("x-echo-text"));
            Assert.Equal(binary, received.GetValueBytes("x-echo-data-bin"));
        }
    }

    [Fact]
    public async Task Metadata_OnError_TravelsInTrailers()
    {
        var headers = new Metadata { { "x-echo-reason", "stale-epoch" } };

        var ex = await Assert.ThrowsAsync<RpcException>(
            () => fixture.Client.EchoAsync(new EchoRequest { FailCode = (int)StatusCode.Aborted, FailMessage = "stale" }, new CallOptions(headers)).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.Aborted, ex.StatusCode);
        Assert.Equal("stale-epoch", ex.Trailers.GetValue("x-echo-reason"));
    }

    [Fact]
    public async Task Message_JustUnderLimit_Succeeds()
    {
        var payload = ByteString.CopyFrom(new byte[FourMiB - 64]);

        var reply = await fixture.Client.EchoAsync(new EchoRequest { Payload = payload, ReplyPayloadSize = FourMiB - 64 }).ResponseAsync.DefaultTimeout();

        Assert.Equal(FourMiB - 64, reply.Payload.Length);
    }

    [Fact]
    public async Task Request_OverServerLimit_IsResourceExhausted()
    {
        var payload = ByteString.CopyFrom(new byte[5 * 1024 * 1024]);

        var ex = await Assert.ThrowsAsync<RpcException>(() => fixture.Client.EchoAsync(new EchoRequest { Payload = payload }).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        // The server keeps serving.
        Assert.Equal("after", (await fixture.Client.EchoAsync(new EchoRequest { Text = "after" }).ResponseAsync.DefaultTimeout()).Text);
    }

    [Fact]
    public async Task Reply_OverClientLimit_IsResourceExhausted()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(
            () => fixture.Client.EchoAsync(new EchoRequest { ReplyPayloadSize = 5 * 1024 * 1024 }).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
    }

    [Fact]
    public async Task Request_OverClientSendLimit_FailsLocally()
    {
        using var channel = GrpcChannels.ForAddress(fixture.Server.Address, new GrpcClientOptions { MaxSendMessageSize = 1024 });
        var before = (await fixture.Client.StatsAsync(new StatsRequest()).ResponseAsync.DefaultTimeout()).TotalCalls;

        var ex = await Assert.ThrowsAsync<RpcException>(
            () => new EchoService.EchoServiceClient(channel).EchoAsync(new EchoRequest { Payload = ByteString.CopyFrom(new byte[2048]) }).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        // Only the second Stats call was started after the first: the oversized request never left the client.
        Assert.Equal(before + 1, (await fixture.Client.StatsAsync(new StatsRequest()).ResponseAsync.DefaultTimeout()).TotalCalls);
    }

    [Fact]
    public async Task Reply_OverServerSendLimit_IsResourceExhausted()
    {
        await using var server = await GrpcTestServer.StartEchoAsync(o => o.MaxSendMessageSize = 1024);
        using var channel = GrpcChannels.ForAddress(server.Address);

        var ex = await Assert.ThrowsAsync<RpcException>(
            () => new EchoService.EchoServiceClient(channel).EchoAsync(new EchoRequest { ReplyPayloadSize = 2048 }).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
    }

    [Fact]
    public async Task Gzip_RequestsAndResponsesCompressed_RoundTrip()
    {
        await using var server = await GrpcTestServer.StartEchoAsync(o => o.CompressResponses = true);
        using var channel = GrpcChannels.ForAddress(server.Address);
        var client = new EchoService.EchoServiceClient(channel);
        var payload = ByteString.CopyFrom(Enumerable.Repeat((byte)'z', 100_000).ToArray());

        using var call = client.EchoAsync(new EchoRequest { Text = "gz", Payload = payload, ReplyPayloadSize = 100_000 }, new CallOptions(GzipRequest));
        var reply = await call.ResponseAsync.DefaultTimeout();

        Assert.Equal(100_000, reply.Payload.Length);
        Assert.Equal("gz", reply.Text);
    }

    [Fact]
    public async Task Gzip_OnTheWire_BothDirectionsCompressed()
    {
        // The generated client hides whether anything was compressed; raw frames show it.
        await using var server = await GrpcTestServer.StartEchoAsync(o => o.CompressResponses = true);
        using var raw = new RawGrpcClient(server.Address);
        var request = new EchoRequest { Text = "wire", Payload = ByteString.CopyFrom(new byte[50_000]), ReplyPayloadSize = 50_000 };

        var response = await raw.PostAsync(
            "/fleet.testing.v1.EchoService/Echo",
            RawGrpcClient.Frame(Gzip(request.ToByteArray()), flag: 1),
            headers: new Dictionary<string, string> { ["grpc-encoding"] = "gzip", ["grpc-accept-encoding"] = "gzip" }).DefaultTimeout();

        Assert.Equal(StatusCode.OK, response.GrpcStatus);
        Assert.Equal("gzip", response.Header("grpc-encoding"));
        Assert.Equal(1, response.Body[0]);
        Assert.True(response.Body.Length < 5_000, $"a 50 KB reply of 'a' compresses well; got {response.Body.Length} bytes");
        var reply = EchoReply.Parser.ParseFrom(Gunzip(response.Body.AsSpan(5).ToArray()));
        Assert.Equal("wire", reply.Text);
        Assert.Equal(50_000, reply.Payload.Length);
    }

    [Fact]
    public async Task Gzip_MessageInflatingPastTheLimit_IsResourceExhausted()
    {
        // 6 MiB of zeros compress to a few KiB: the compressed frame is small, the message is not.
        var ex = await Assert.ThrowsAsync<RpcException>(
            () => fixture.Client.EchoAsync(new EchoRequest { Payload = ByteString.CopyFrom(new byte[6 * 1024 * 1024]) }, new CallOptions(GzipRequest)).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        Assert.Equal("Received message exceeds the maximum configured message size.", ex.Status.Detail);
        Assert.Equal("after", (await fixture.Client.EchoAsync(new EchoRequest { Text = "after" }).ResponseAsync.DefaultTimeout()).Text);
    }

    private static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }

    private static byte[] Gunzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(new MemoryStream(data), CompressionMode.Decompress))
        {
            gzip.CopyTo(output);
        }

        return output.ToArray();
    }
}
