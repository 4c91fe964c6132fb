using Fleet.Hosting.Grpc;
using Fleet.Testing;
using Fleet.Testing.Echo;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Grpc.Reflection.V1;

namespace Fleet.Grpc.Tests.Interop;

public sealed class PythonServerFixture : IAsyncLifetime
{
    public PythonEchoServer Server { get; private set; } = null!;

    public GrpcChannel Channel { get; private set; } = null!;

    public EchoService.EchoServiceClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await PythonEchoServer.StartAsync("--compression", "gzip");
        Channel = GrpcChannels.ForAddress(Server.Address);
        Client = new EchoService.EchoServiceClient(Channel);
    }

    public Task DisposeAsync()
    {
        Channel.Dispose();
        Server.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>Fleet's client (Grpc.Net.Client as <see cref="GrpcChannels"/> sets it up) against python3-grpcio's server (grpc-core).</summary>
public sealed class FleetClientAgainstPythonServerTests(PythonServerFixture fixture) : IClassFixture<PythonServerFixture>
{
    [Fact]
    public async Task Unary()
    {
        var reply = await fixture.Client.EchoAsync(new EchoRequest { Text = "to python", ReplyPayloadSize = 1000 }).ResponseAsync.DefaultTimeout();

        Assert.Equal("to python", reply.Text);
        Assert.Equal(1000, reply.Payload.Length);
    }

    [Fact]
    public async Task ServerStreaming()
    {
        using var call = fixture.Client.Expand(new ExpandRequest { Count = 100 });
        var indexes = new List<int>();
        while (await call.ResponseStream.MoveNext().DefaultTimeout())
        {
            indexes.Add(call.ResponseStream.Current.Index);
        }

        Assert.Equal(Enumerable.Range(0, 100), indexes);
    }

    [Fact]
    public async Task ClientStreaming()
    {
        using var call = fixture.Client.Collect();
        foreach (var text in new[] { "a", "b", "c" })
        {
            await call.RequestStream.WriteAsync(new EchoRequest { Text = text, Payload = ByteString.CopyFrom(new byte[10]) }).DefaultTimeout();
        }

        await call.RequestStream.CompleteAsync();
        var reply = await call.ResponseAsync.DefaultTimeout();

        Assert.Equal(3, reply.Count);
        Assert.Equal("a,b,c", reply.Text);
        Assert.Equal(30, reply.PayloadBytes);
    }

    [Fact]
    public async Task Duplex_Interleaved()
    {
        using var call = fixture.Client.Chat();
        for (var i = 0; i < 20; i++)
        {
            await call.RequestStream.WriteAsync(new EchoRequest { Text = "m" + i }).DefaultTimeout();
            Assert.True(await call.ResponseStream.MoveNext().DefaultTimeout());
            Assert.Equal(i, call.ResponseStream.Current.Index);
        }

        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext().DefaultTimeout());
    }

    [Fact]
    public async Task ErrorStatus_WithEncodedMessage()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(
            () => fixture.Client.EchoAsync(new EchoRequest { FailCode = 5, FailMessage = "no such node: ünïcode ✓ 100%" }).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
        Assert.Equal("no such node: ünïcode ✓ 100%", ex.Status.Detail);
    }

    [Fact]
    public async Task ErrorAfterMessages()
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
    public async Task Deadline_SentAsGrpcTimeout_AndHonouredByServer()
    {
        var before = (await fixture.Client.StatsAsync(new StatsRequest()).ResponseAsync.DefaultTimeout()).CancelledCalls;

        var ex = await Assert.ThrowsAsync<RpcException>(
            () => fixture.Client.EchoAsync(new EchoRequest { DelayMs = 10_000 }, new CallOptions(deadline: DateTime.UtcNow.AddMilliseconds(300))).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);
        await WaitForCancelledAsync(before + 1);
    }

    [Fact]
    public async Task Cancellation_ReachesServer()
    {
        var before = (await fixture.Client.StatsAsync(new StatsRequest()).ResponseAsync.DefaultTimeout()).CancelledCalls;
        using var cts = new CancellationTokenSource();
        using var call = fixture.Client.Expand(new ExpandRequest { Count = 1000, DelayMs = 50 }, new CallOptions(cancellationToken: cts.Token));
        Assert.True(await call.ResponseStream.MoveNext().DefaultTimeout());

        await cts.CancelAsync();

        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext()).DefaultTimeout();
        Assert.Equal(StatusCode.Cancelled, ex.StatusCode);
        await WaitForCancelledAsync(before + 1);
    }

    [Fact]
    public async Task Metadata_TextAndBinary_RoundTrip()
    {
        var binary = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        using var call = fixture.Client.EchoAsync(new EchoRequest(), new CallOptions(new Metadata { { "x-echo-text", "hello" }, { "x-echo-data-bin", binary } }));
        await call.ResponseAsync.DefaultTimeout();
        var headers = await call.ResponseHeadersAsync.DefaultTimeout();

        foreach (var received in new[] { headers, call.GetTrailers() })
        {
            Assert.Equal("hello", received.GetValue("x-echo-text"));
            Assert.Equal(binary, received.GetValueBytes("x-echo-data-bin"));
        }
    }

    [Fact]
    public async Task MessagesNearTheLimit_Pass()
    {
        const int size = (4 * 1024 * 1024) - 64;

        var reply = await fixture.Client.EchoAsync(new EchoRequest { Payload = ByteString.CopyFrom(new byte[size]), ReplyPayloadSize = size }).ResponseAsync.DefaultTimeout();

        Assert.Equal(size, reply.Payload.Length);
    }

    [Fact]
    public async Task OversizedRequest_RejectedByServer()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(
            () => fixture.Client.EchoAsync(new EchoRequest { Payload = ByteString.CopyFrom(new byte[5 * 1024 * 1024]) }).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
    }

    [Fact]
    public async Task OversizedReply_RejectedByClient()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(
            () => fixture.Client.EchoAsync(new EchoRequest { ReplyPayloadSize = 5 * 1024 * 1024 }).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
    }

    [Fact]
    public async Task Gzip_BothDirections()
    {
        // Grpc.Net.Client compresses the request when this call header names gzip; the server compresses replies (--compression gzip).
        var gzip = new Metadata { { "grpc-internal-encoding-request", "gzip" } };
        var payload = ByteString.CopyFrom(Enumerable.Repeat((byte)'q', 100_000).ToArray());

        var reply = await fixture.Client.EchoAsync(new EchoRequest { Text = "gz", Payload = payload, ReplyPayloadSize = 100_000 }, new CallOptions(gzip)).ResponseAsync.DefaultTimeout();

        Assert.Equal(100_000, reply.Payload.Length);
    }

    [Fact]
    public async Task Health_Check()
    {
        var reply = await new Health.HealthClient(fixture.Channel).CheckAsync(new HealthCheckRequest()).ResponseAsync.DefaultTimeout();

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, reply.Status);
    }

    [Fact]
    public async Task Reflection_ListAndDescribe()
    {
        using var call = new ServerReflection.ServerReflectionClient(fixture.Channel).ServerReflectionInfo();

        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" }).DefaultTimeout();
        Assert.True(await call.ResponseStream.MoveNext().DefaultTimeout());
        Assert.Contains("fleet.testing.v1.EchoService", call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name));

        await call.RequestStream.WriteAsync(new ServerReflectionRequest { FileContainingSymbol = "fleet.testing.v1.EchoService" }).DefaultTimeout();
        Assert.True(await call.ResponseStream.MoveNext().DefaultTimeout());
        var file = FileDescriptorProto.Parser.ParseFrom(call.ResponseStream.Current.FileDescriptorResponse.FileDescriptorProto[0]);
        Assert.Equal("EchoService", file.Service.Single().Name);
        await call.RequestStream.CompleteAsync();
    }

    private async Task WaitForCancelledAsync(long expected)
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

        Assert.Fail($"the python server observed {seen} cancelled calls, expected at least {expected}");
    }
}
