using Fleet.Rpc.Client;
using Fleet.Testing;
using Fleet.Testing.Echo;
using Fleet.Testing.Hosting;
using Google.Protobuf;

namespace Fleet.Rpc.Tests.EndToEnd;

public sealed class MetadataSizeCompressionTests(EchoServerFixture fixture) : IClassFixture<EchoServerFixture>
{
    private const int FourMiB = 4 * 1024 * 1024;

    [Fact]
    public async Task Metadata_TextAndBinary_EchoedInHeadersAndTrailers()
    {
        var binary = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        var headers = new Metadata { { "x-echo-text", "hello world" }, { "x-echo-data-bin", binary } };

        using var call = fixture.Client.Echo(new EchoRequest { Text = "m" }, new CallOptions(headers));
        await call.ResponseAsync.DefaultTimeout();
        var responseHeaders = await call.ResponseHeadersAsync.DefaultTimeout();

        foreach (var received in new[] { responseHeaders, call.GetTrailers() })
        {
            Assert.Equal("hello world", received.GetValue("x-echo-text"));
            Assert.Equal(binary, received.GetValueBytes("x-echo-data-bin"));
        }
    }

    [Fact]
    public async Task Metadata_OnError_TravelsInTrailersOnlyResponse()
    {
        var headers = new Metadata { { "x-echo-reason", "stale-epoch" } };

        var ex = await Assert.ThrowsAsync<RpcException>(
            () => fixture.Client.Echo(new EchoRequest { FailCode = (int)StatusCode.Aborted, FailMessage = "stale" }, new CallOptions(headers)).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.Aborted, ex.StatusCode);
        Assert.Equal("stale-epoch", ex.Trailers.GetValue("x-echo-reason"));
    }

    [Fact]
    public async Task Message_JustUnderLimit_Succeeds()
    {
        var payload = ByteString.CopyFrom(new byte[FourMiB - 64]);

        var reply = await fixture.Client.Echo(new EchoRequest { Payload = payload, ReplyPayloadSize = FourMiB - 64 }).ResponseAsync.DefaultTimeout();

        Assert.Equal(FourMiB - 64, reply.Payload.Length);
    }

    [Fact]
    public async Task Request_OverServerLimit_IsResourceExhausted()
    {
        var payload = ByteString.CopyFrom(new byte[5 * 1024 * 1024]);

        var ex = await Assert.ThrowsAsync<RpcException>(() => fixture.Client.Echo(new EchoRequest { Payload = payload }).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        // The server keeps serving.
        Assert.Equal("after", (await fixture.Client.Echo(new EchoRequest { Text = "after" }).ResponseAsync.DefaultTimeout()).Text);
    }

    [Fact]
    public async Task Reply_OverClientLimit_IsResourceExhausted()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(
            () => fixture.Client.Echo(new EchoRequest { ReplyPayloadSize = 5 * 1024 * 1024 }).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
    }

    [Fact]
    public async Task Request_OverClientSendLimit_FailsLocally()
    {
        using var channel = GrpcChannel.ForAddress(fixture.Server.Address, new GrpcChannelOptions { MaxSendMessageSize = 1024 });

        var ex = await Assert.ThrowsAsync<RpcException>(
            () => new EchoClient(channel).Echo(new EchoRequest { Payload = ByteString.CopyFrom(new byte[2048]) }).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
    }

    [Fact]
    public async Task Reply_OverServerSendLimit_IsResourceExhausted()
    {
        await using var server = await GrpcTestServer.StartEchoAsync(o => o.MaxSendMessageSize = 1024);
        using var channel = GrpcChannel.ForAddress(server.Address);

        var ex = await Assert.ThrowsAsync<RpcException>(
            () => new EchoClient(channel).Echo(new EchoRequest { ReplyPayloadSize = 2048 }).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
    }

    [Fact]
    public async Task Gzip_RequestsAndResponsesCompressed_RoundTrip()
    {
        await using var server = await GrpcTestServer.StartEchoAsync(o => o.CompressResponses = true);
        using var channel = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions { CompressRequests = true });
        var client = new EchoClient(channel);
        var payload = ByteString.CopyFrom(Enumerable.Repeat((byte)'z', 100_000).ToArray());

        using var call = client.Echo(new EchoRequest { Text = "gz", Payload = payload, ReplyPayloadSize = 100_000 });
        var reply = await call.ResponseAsync.DefaultTimeout();

        Assert.Equal(100_000, reply.Payload.Length);
        Assert.Equal("gz", reply.Text);
    }

    [Fact]
    public async Task Gzip_Bomb_IsRefusedByDecompressedSize()
    {
        // 6 MiB of zeros compress to a few KiB: the compressed frame is small, the message is not.
        using var channel = GrpcChannel.ForAddress(fixture.Server.Address, new GrpcChannelOptions { CompressRequests = true });

        var ex = await Assert.ThrowsAsync<RpcException>(
            () => new EchoClient(channel).Echo(new EchoRequest { Payload = ByteString.CopyFrom(new byte[6 * 1024 * 1024]) }).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
    }
}
