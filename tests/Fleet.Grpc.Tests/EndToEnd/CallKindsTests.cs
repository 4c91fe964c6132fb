using Fleet.Testing;
using Fleet.Testing.Echo;
using Grpc.Core;

namespace Fleet.Grpc.Tests.EndToEnd;

public sealed class CallKindsTests(EchoServerFixture fixture) : IClassFixture<EchoServerFixture>
{
    [Fact]
    public async Task Unary_RoundTripsTextAndPayload()
    {
        var reply = await fixture.Client.EchoAsync(new EchoRequest { Text = "hello", ReplyPayloadSize = 1000 }).ResponseAsync.DefaultTimeout();

        Assert.Equal("hello", reply.Text);
        Assert.Equal(1000, reply.Payload.Length);
        Assert.All(reply.Payload, b => Assert.Equal((byte)'a', b));
    }

    [Fact]
    public async Task Unary_StatusAndTrailersAvailableAfterCompletion()
    {
        using var call = fixture.Client.EchoAsync(new EchoRequest { Text = "x" });
        await call.ResponseAsync.DefaultTimeout();

        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
        Assert.Empty(call.GetTrailers());
    }

    [Fact]
    public async Task ServerStreaming_DeliversAllMessagesInOrder()
    {
        using var call = fixture.Client.Expand(new ExpandRequest { Count = 100, Text = "s" });
        var indexes = new List<int>();
        using var timeout = new CancellationTokenSource(TestTimeouts.Default);
        await foreach (var reply in call.ResponseStream.ReadAllAsync(timeout.Token))
        {
            indexes.Add(reply.Index);
        }

        Assert.Equal(Enumerable.Range(0, 100), indexes);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task ClientStreaming_ServerSeesEveryMessage()
    {
        using var call = fixture.Client.Collect();
        for (var i = 0; i < 10; i++)
        {
            await call.RequestStream.WriteAsync(new EchoRequest { Text = i.ToString(System.Globalization.CultureInfo.InvariantCulture), Payload = Google.Protobuf.ByteString.CopyFrom(new byte[i]) }).DefaultTimeout();
        }

        await call.RequestStream.CompleteAsync();
        var reply = await call.ResponseAsync.DefaultTimeout();

        Assert.Equal(10, reply.Count);
        Assert.Equal("0,1,2,3,4,5,6,7,8,9", reply.Text);
        Assert.Equal(45, reply.PayloadBytes);
    }

    [Fact]
    public async Task Duplex_RepliesInterleaveWithRequests()
    {
        using var call = fixture.Client.Chat();
        for (var i = 0; i < 20; i++)
        {
            // Each reply is read before the next request is written: proves true bidirectional flow.
            await call.RequestStream.WriteAsync(new EchoRequest { Text = "m" + i }).DefaultTimeout();
            Assert.True(await call.ResponseStream.MoveNext().DefaultTimeout());
            Assert.Equal("m" + i, call.ResponseStream.Current.Text);
            Assert.Equal(i, call.ResponseStream.Current.Index);
        }

        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext().DefaultTimeout());
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task ManyConcurrentCalls_ShareOneChannel()
    {
        var tasks = Enumerable.Range(0, 200).Select(i => fixture.Client.EchoAsync(new EchoRequest { Text = "c" + i }).ResponseAsync);
        var replies = await Task.WhenAll(tasks).DefaultTimeout();

        Assert.Equal(Enumerable.Range(0, 200).Select(i => "c" + i), replies.Select(r => r.Text));
    }
}
