using Fleet.Rpc;
using Fleet.Rpc.Server;
using Google.Protobuf;

namespace Fleet.Testing.Echo;

/// <summary>Fleet.Rpc's implementation of the interop contract (tests/interop/protos/fleet/testing/v1/echo.proto).</summary>
public sealed class EchoService
{
    private long _cancelledCalls;
    private long _totalCalls;

    public static Google.Protobuf.Reflection.ServiceDescriptor Descriptor => EchoReflection.Descriptor.Services[0];

    public async Task<EchoReply> Echo(EchoRequest request, ServerCallContext context)
    {
        Interlocked.Increment(ref _totalCalls);
        await EchoMetadataAsync(context);
        await DelayAsync(request.DelayMs, context);
        FailIfAsked(request);
        return new EchoReply { Text = request.Text, Payload = Filled(request.ReplyPayloadSize) };
    }

    public async Task Expand(ExpandRequest request, IServerStreamWriter<EchoReply> responses, ServerCallContext context)
    {
        Interlocked.Increment(ref _totalCalls);
        await EchoMetadataAsync(context);
        var payload = Filled(request.PayloadSize);
        for (var i = 0; i < request.Count; i++)
        {
            if (request.FailAfter > 0 && i == request.FailAfter)
            {
                throw new RpcException(StatusCode.FailedPrecondition, $"failed after {request.FailAfter}");
            }

            await DelayAsync(request.DelayMs, context);
            await responses.WriteAsync(new EchoReply { Text = request.Text, Payload = payload, Index = i });
        }
    }

    public async Task<CollectReply> Collect(IAsyncStreamReader<EchoRequest> requests, ServerCallContext context)
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

    public async Task Chat(IAsyncStreamReader<EchoRequest> requests, IServerStreamWriter<EchoReply> responses, ServerCallContext context)
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

    public Task<StatsReply> Stats(StatsRequest request, ServerCallContext context) =>
        Task.FromResult(new StatsReply { CancelledCalls = Interlocked.Read(ref _cancelledCalls), TotalCalls = Interlocked.Read(ref _totalCalls) });

    private static ByteString Filled(int size) =>
        size <= 0 ? ByteString.Empty : ByteString.CopyFrom(Enumerable.Repeat((byte)'a', size).ToArray());

    private static void FailIfAsked(EchoRequest request)
    {
        if (request.FailCode != 0)
        {
            throw new RpcException((StatusCode)request.FailCode, request.FailMessage);
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
