using Grpc.Core;
using Google.Protobuf;

namespace Fleet.Testing.Echo;

/// <summary>The C# implementation of the interop contract (tests/interop/protos/fleet/testing/v1/echo.proto) on Grpc.AspNetCore.</summary>
public sealed class EchoServiceImpl : EchoService.EchoServiceBase
{
    private long _cancelledCalls;
    private long _totalCalls;

    public override async Task<EchoReply> Echo(EchoRequest request, ServerCallContext context)
    {
        Interlocked.Increment(ref _totalCalls);
        await EchoMetadataAsync(context);
        await DelayAsync(request.DelayMs, context);
        FailIfAsked(request);
        return new EchoReply { Text = request.Text, Payload = Filled(request.ReplyPayloadSize) };
    }

    public override async Task Expand(ExpandRequest request, IServerStreamWriter<EchoReply> responses, ServerCallContext context)
    {
        Interlocked.Increment(ref _totalCalls);
        await EchoMetadataAsync(context);
        var payload = Filled(request.PayloadSize);
        for (var i = 0; i < request.Count; i++)
        {
            if (request.FailAfter > 0 && i == request.FailAfter)
            {
                throw new RpcException(new Status(StatusCode.FailedPrecondition, $"failed after {request.FailAfter}"));
            }

            await DelayAsync(request.DelayMs, context);
            await responses.WriteAsync(new EchoReply { Text = request.Text, Payload = payload, Index = i });
        }
    }

    public override async Task<CollectReply> Collect(IAsyncStreamReader<EchoRequest> requests, ServerCallContext context)
    {
        Interlocked.Increment(ref _totalCalls);
        await EchoMetadataAsync(context);
        var reply = new CollectReply();
        var texts = new List<string>();
        while (await requests.MoveNext())
        {
            FailIfAsked(requests.Current);
            reply.Count++;
            reply.PayloadBytes += requests.Current.Payload.Length;
            texts.Add(requests.Current.Text);
        }

        reply.Text = string.Join(',', texts);
        return reply;
    }

    public override async Task Chat(IAsyncStreamReader<EchoRequest> requests, IServerStreamWriter<EchoReply> responses, ServerCallContext context)
    {
        Interlocked.Increment(ref _totalCalls);
        await EchoMetadataAsync(context);
        var index = 0;
        while (await requests.MoveNext())
        {
            var request = requests.Current;
            await DelayAsync(request.DelayMs, context);
            FailIfAsked(request);
            await responses.WriteAsync(new EchoReply { Text = request.Text, Payload = Filled(request.ReplyPayloadSize), Index = index++ });
        }
    }

    /// <summary>As tests/interop/README.md specifies (and the python server does): total_calls counts every call started, this one included.</summary>
    public override Task<StatsReply> Stats(StatsRequest request, ServerCallContext context)
    {
        var total = Interlocked.Increment(ref _totalCalls);
        return Task.FromResult(new StatsReply { CancelledCalls = Interlocked.Read(ref _cancelledCalls), TotalCalls = total });
    }

    private static ByteString Filled(int size) =>
        size <= 0 ? ByteString.Empty : ByteString.CopyFrom(Enumerable.Repeat((byte)'a', size).ToArray());

    private static void FailIfAsked(EchoRequest request)
    {
        if (request.FailCode != 0)
        {
            throw new RpcException(new Status((StatusCode)request.FailCode, request.FailMessage));
        }
    }

    private static async Task EchoMetadataAsync(ServerCallContext context)
    {
        var echoed = new Metadata();
        foreach (var entry in context.RequestHeaders)
        {
            if (entry.Key.StartsWith("x-echo-", StringComparison.Ordinal))
            {
                echoed.Add(entry);
                context.ResponseTrailers.Add(entry);
            }
        }

        if (echoed.Count > 0)
        {
            await context.WriteResponseHeadersAsync(echoed);
        }
    }

    private async Task DelayAsync(int milliseconds, ServerCallContext context)
    {
        if (milliseconds <= 0)
        {
            return;
        }

        try
        {
            await Task.Delay(milliseconds, context.CancellationToken);
        }
        catch (OperationCanceledException)
        {
            Interlocked.Increment(ref _cancelledCalls);
            throw;
        }
    }
}
