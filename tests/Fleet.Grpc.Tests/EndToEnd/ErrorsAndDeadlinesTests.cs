using Fleet.Hosting.Grpc;
using Fleet.Testing;
using Fleet.Testing.Echo;
using Grpc.Core;

namespace Fleet.Grpc.Tests.EndToEnd;

public sealed class ErrorsAndDeadlinesTests(EchoServerFixture fixture) : IClassFixture<EchoServerFixture>
{
    [Theory]
    [InlineData(StatusCode.NotFound, "no such node: ünïcode ✓ 100%")]
    [InlineData(StatusCode.PermissionDenied, "region eu-west is not kr-central")]
    [InlineData(StatusCode.FailedPrecondition, "line1\nline2\ttab")]
    [InlineData(StatusCode.Unavailable, "")]
    public async Task HandlerStatus_ReachesClientWithExactMessage(StatusCode code, string message)
    {
        using var call = fixture.Client.EchoAsync(new EchoRequest { FailCode = (int)code, FailMessage = message });

        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync).DefaultTimeout();

        Assert.Equal(code, ex.StatusCode);
        Assert.Equal(message, ex.Status.Detail);
        Assert.Equal(code, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task AllStatusCodes_RoundTrip()
    {
        foreach (var code in Enum.GetValues<StatusCode>().Where(c => c != StatusCode.OK))
        {
            var ex = await Assert.ThrowsAsync<RpcException>(() => fixture.Client.EchoAsync(new EchoRequest { FailCode = (int)code, FailMessage = code.ToString() }).ResponseAsync).DefaultTimeout();
            Assert.Equal(code, ex.StatusCode);
            Assert.Equal(code.ToString(), ex.Status.Detail);
        }
    }

    [Fact]
    public async Task ServerStreaming_ErrorAfterMessages_DeliversMessagesThenStatus()
    {
        using var call = fixture.Client.Expand(new ExpandRequest { Count = 10, FailAfter = 3 });
        var received = 0;

        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            while (await call.ResponseStream.MoveNext().DefaultTimeout())
            {
                received++;
            }
        });

        Assert.Equal(3, received);
        Assert.Equal(StatusCode.FailedPrecondition, ex.StatusCode);
        Assert.Equal("failed after 3", ex.Status.Detail);
    }

    [Fact]
    public async Task Deadline_ExceededOnClientAndObservedByServer()
    {
        var before = (await fixture.Client.StatsAsync(new StatsRequest()).ResponseAsync.DefaultTimeout()).CancelledCalls;
        var started = DateTime.UtcNow;

        var ex = await Assert.ThrowsAsync<RpcException>(
            () => fixture.Client.EchoAsync(new EchoRequest { DelayMs = 10_000 }, new CallOptions(deadline: DateTime.UtcNow.AddMilliseconds(300))).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(3), "the deadline must end the call promptly");
        await WaitForCancelledCallsAsync(before + 1);
    }

    [Fact]
    public async Task Deadline_AlreadyPassed_FailsWithoutSending()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(
            () => fixture.Client.EchoAsync(new EchoRequest(), new CallOptions(deadline: DateTime.UtcNow.AddSeconds(-1))).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);
    }

    [Fact]
    public async Task Deadline_MaxValueOrFarAway_MeansNoDeadline()
    {
        var none = await fixture.Client.EchoAsync(new EchoRequest { Text = "max" }, new CallOptions(deadline: DateTime.MaxValue)).ResponseAsync.DefaultTimeout();
        var far = await fixture.Client.EchoAsync(new EchoRequest { Text = "far" }, new CallOptions(deadline: DateTime.UtcNow.AddDays(400))).ResponseAsync.DefaultTimeout();

        Assert.Equal("max", none.Text);
        Assert.Equal("far", far.Text);
    }

    [Fact]
    public async Task Cancellation_ByClient_PropagatesToServer()
    {
        var before = (await fixture.Client.StatsAsync(new StatsRequest()).ResponseAsync.DefaultTimeout()).CancelledCalls;
        using var cts = new CancellationTokenSource();
        using var call = fixture.Client.Expand(new ExpandRequest { Count = 1000, DelayMs = 50 }, new CallOptions(cancellationToken: cts.Token));
        Assert.True(await call.ResponseStream.MoveNext().DefaultTimeout());
        Assert.True(await call.ResponseStream.MoveNext().DefaultTimeout());

        await cts.CancelAsync();
        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext()).DefaultTimeout();

        Assert.Equal(StatusCode.Cancelled, ex.StatusCode);
        await WaitForCancelledCallsAsync(before + 1);
    }

    [Fact]
    public async Task Dispose_OfLiveCall_CancelsItOnServer()
    {
        var before = (await fixture.Client.StatsAsync(new StatsRequest()).ResponseAsync.DefaultTimeout()).CancelledCalls;
        var call = fixture.Client.Expand(new ExpandRequest { Count = 1000, DelayMs = 50 });
        Assert.True(await call.ResponseStream.MoveNext().DefaultTimeout());

        call.Dispose();

        await WaitForCancelledCallsAsync(before + 1);
    }

    [Fact]
    public async Task UnknownService_IsUnimplemented()
    {
        var method = new Method<EchoRequest, EchoReply>(MethodType.Unary, "fleet.testing.v1.NoSuchService", "Echo", Marshal(EchoRequest.Parser), Marshal(EchoReply.Parser));

        var ex = await Assert.ThrowsAsync<RpcException>(() => fixture.Channel.CreateCallInvoker().AsyncUnaryCall(method, null, default, new EchoRequest()).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.Unimplemented, ex.StatusCode);
        Assert.Equal("Service is unimplemented.", ex.Status.Detail);
    }

    [Fact]
    public async Task UnknownMethod_IsUnimplemented()
    {
        var method = new Method<EchoRequest, EchoReply>(MethodType.Unary, "fleet.testing.v1.EchoService", "Nope", Marshal(EchoRequest.Parser), Marshal(EchoReply.Parser));

        var ex = await Assert.ThrowsAsync<RpcException>(() => fixture.Channel.CreateCallInvoker().AsyncUnaryCall(method, null, default, new EchoRequest()).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.Unimplemented, ex.StatusCode);
        Assert.Equal("Method is unimplemented.", ex.Status.Detail);
    }

    [Fact]
    public async Task UnreachableServer_IsUnavailable()
    {
        using var channel = GrpcChannels.ForAddress($"http://127.0.0.1:{FreePort()}");

        var ex = await Assert.ThrowsAsync<RpcException>(() => new EchoService.EchoServiceClient(channel).EchoAsync(new EchoRequest()).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
    }

    [Fact]
    public async Task ServerLoggedNoErrors_ForExpectedFailures()
    {
        await Assert.ThrowsAsync<RpcException>(() => fixture.Client.EchoAsync(new EchoRequest { FailCode = 5 }).ResponseAsync).DefaultTimeout();

        Assert.Empty(fixture.Server.Logs.Errors);
    }

    private async Task WaitForCancelledCallsAsync(long expected)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        long seen;
        do
        {
            seen = (await fixture.Client.StatsAsync(new StatsRequest()).ResponseAsync.DefaultTimeout()).CancelledCalls;
            if (seen >= expected)
            {
                return;
            }

            await Task.Delay(20);
        }
        while (DateTime.UtcNow < until);

        Assert.Fail($"the server observed {seen} cancelled calls, expected at least {expected}");
    }

    private static Marshaller<T> Marshal<T>(Google.Protobuf.MessageParser<T> parser)
        where T : Google.Protobuf.IMessage<T> =>
        Marshallers.Create(m => Google.Protobuf.MessageExtensions.ToByteArray(m), parser.ParseFrom);

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
