using System.Net;

namespace Fleet.Rpc.Client;

/// <summary>
/// A request body written message by message while the call is in progress (client and duplex
/// streaming). SocketsHttpHandler hands over the HTTP/2 stream in SerializeToStreamAsync; the body ends
/// (END_STREAM) when <see cref="Complete"/> is called.
/// </summary>
internal sealed class StreamingRequestContent : HttpContent
{
    private readonly TaskCompletionSource<Stream> _stream = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The request stream once the handler has started sending; fails if the call ends first.</summary>
    public async Task<Stream> GetStreamAsync(Task responseTask)
    {
        var first = await Task.WhenAny(_stream.Task, responseTask);
        if (first == _stream.Task)
        {
            return await _stream.Task;
        }

        // The call ended (or failed) before the body started: surface that outcome.
        await responseTask;
        return await _stream.Task;
    }

    public void Complete() => _completed.TrySetResult();

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        // Send the request headers now: the server must see the call before the first message is written.
        await stream.FlushAsync(cancellationToken);
        _stream.TrySetResult(stream);
        using var registration = cancellationToken.Register(() => _completed.TrySetCanceled(cancellationToken));
        await _completed.Task;
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override bool TryComputeLength(out long length)
    {
        length = -1;
        return false;
    }
}
