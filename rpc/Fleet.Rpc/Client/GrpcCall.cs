using System.IO.Pipelines;
using System.Net;
using System.Net.Http.Headers;
using Fleet.Rpc.Protocol;
using Google.Protobuf;

namespace Fleet.Rpc.Client;

/// <summary>
/// One client call of any kind: sends the HTTP/2 request, validates the response, reads messages and
/// the final status, and maps transport failures, deadlines and cancellation to gRPC statuses.
/// </summary>
internal sealed class GrpcCall<TRequest, TResponse> : IAsyncStreamReader<TResponse>, IClientStreamWriter<TRequest>, IGrpcCallState
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    private static readonly MediaTypeHeaderValue GrpcContentType = new(GrpcProtocol.ContentType);

    /// <summary>Longest timer a CancellationTokenSource accepts, with a margin.</summary>
    private static readonly TimeSpan MaxTimer = TimeSpan.FromDays(30);

    private readonly GrpcChannel _channel;
    private readonly Method<TRequest, TResponse> _method;
    private readonly CallOptions _options;
    private readonly bool _compress;
    private readonly CancellationTokenSource _callCts;
    private readonly CancellationTokenSource? _deadlineCts;
    private Task<HttpResponseMessage>? _responseTask;
    private StreamingRequestContent? _requestContent;
    private PipeReader? _responseReader;
    private string? _responseEncoding;
    private Status? _status;
    private Metadata? _trailers;
    private TResponse? _current;
    private int _disposed;

    public GrpcCall(GrpcChannel channel, Method<TRequest, TResponse> method, CallOptions options)
    {
        _channel = channel;
        _method = method;
        _options = options;
        _compress = options.Compress ?? channel.Options.CompressRequests;
        _callCts = options.CancellationToken.CanBeCanceled
            ? CancellationTokenSource.CreateLinkedTokenSource(options.CancellationToken)
            : new CancellationTokenSource();
        // DateTime.MaxValue means "no deadline"; beyond a timer's range a deadline is effectively none too.
        if (options.Deadline is { } deadline && deadline != DateTime.MaxValue && deadline.ToUniversalTime() - DateTime.UtcNow < MaxTimer)
        {
            var remaining = deadline.ToUniversalTime() - DateTime.UtcNow;
            _deadlineCts = new CancellationTokenSource(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero);
            _deadlineCts.Token.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), _callCts);
        }
    }

    public TResponse Current => _current ?? throw new InvalidOperationException("MoveNext has not returned true.");

    public void StartWithMessage(TRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        byte[] frame;
        try
        {
            frame = MessageFraming.SerializeFrame(request, _channel.Options.MaxSendMessageSize, _compress);
        }
        catch (RpcException ex)
        {
            _responseTask = Task.FromException<HttpResponseMessage>(Finish(ex.Status, new Metadata()));
            return;
        }

        var content = new ByteArrayContent(frame);
        content.Headers.ContentType = GrpcContentType;
        _responseTask = SendAsync(content);
    }

    public void StartStreaming()
    {
        _requestContent = new StreamingRequestContent();
        _requestContent.Headers.ContentType = GrpcContentType;
        _responseTask = SendAsync(_requestContent);
    }

    public async Task<Metadata> GetResponseHeadersAsync()
    {
        var response = await GetResponseAsync();
        var headers = new Metadata();
        foreach (var header in response.Headers)
        {
            MetadataHeaders.AddHeaderValues(headers, header.Key, header.Value);
        }

        return headers;
    }

    public Status GetStatus() => _status ?? throw new InvalidOperationException("The call has not completed yet.");

    public Metadata GetTrailers() => _trailers ?? throw new InvalidOperationException("The call has not completed yet.");

    /// <summary>Reads exactly one response message and the final status (unary and client streaming).</summary>
    public async Task<TResponse> ReadUnaryResponseAsync()
    {
        if (!await MoveNext(CancellationToken.None))
        {
            throw Finish(new Status(StatusCode.Internal, "Failed to deserialize response message: the server sent none."), _trailers ?? new Metadata());
        }

        var message = _current!;
        if (await MoveNext(CancellationToken.None))
        {
            throw Finish(new Status(StatusCode.Internal, "The server sent more than one response message."), new Metadata());
        }

        return message;
    }

    public async Task<bool> MoveNext(CancellationToken cancellationToken = default)
    {
        if (_status is { } finished)
        {
            return finished.StatusCode == StatusCode.OK ? false : throw new RpcException(finished, _trailers ?? new Metadata());
        }

        using var registration = cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), _callCts)
            : default;
        try
        {
            var response = await GetResponseAsync();
            if (_status is { StatusCode: StatusCode.OK })
            {
                return false;
            }

            _responseReader ??= PipeReader.Create(await response.Content.ReadAsStreamAsync(_callCts.Token));
            _current = await MessageFraming.ReadMessageAsync(
                _responseReader, _method.ResponseParser, _channel.Options.MaxReceiveMessageSize, _responseEncoding, _callCts.Token);
            if (_current is not null)
            {
                return true;
            }

            // End of stream: the status is in the trailers.
            var trailers = new Metadata();
            foreach (var header in response.TrailingHeaders)
            {
                MetadataHeaders.AddHeaderValues(trailers, header.Key, header.Value);
            }

            var status = ReadStatus(response.TrailingHeaders) ?? new Status(StatusCode.Internal, "No grpc-status found on response.");
            if (status.StatusCode != StatusCode.OK)
            {
                throw Finish(status, trailers);
            }

            Complete(status, trailers);
            return false;
        }
        catch (Exception ex) when (ex is not RpcException || _status is null)
        {
            throw ToRpcException(ex);
        }
    }

    public async Task WriteAsync(TRequest message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        var content = _requestContent ?? throw new InvalidOperationException("This call has no request stream.");
        if (_status is { } status)
        {
            throw new RpcException(status.StatusCode == StatusCode.OK ? new Status(StatusCode.Internal, "Cannot write: the call has already finished.") : status);
        }

        try
        {
            var frame = MessageFraming.SerializeFrame(message, _channel.Options.MaxSendMessageSize, _compress);
            var stream = await content.GetStreamAsync(_responseTask!).WaitAsync(_callCts.Token);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _callCts.Token);
            await stream.WriteAsync(frame, linked.Token);
            await stream.FlushAsync(linked.Token);
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            throw ToRpcException(ex);
        }
    }

    public Task CompleteAsync()
    {
        _requestContent?.Complete();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_status is null)
        {
            // Abandoning a live call cancels it on the server too (RST_STREAM CANCEL).
            _status = new Status(StatusCode.Cancelled, "Call disposed.");
            _callCts.Cancel();
        }

        _requestContent?.Complete();
        _deadlineCts?.Dispose();
        _callCts.Dispose();
        if (_responseTask is { IsCompletedSuccessfully: true })
        {
            _responseTask.Result.Dispose();
        }
    }

    private Task<HttpResponseMessage> GetResponseAsync() =>
        _responseTask ?? throw new InvalidOperationException("The call was not started.");

    private async Task<HttpResponseMessage> SendAsync(HttpContent content)
    {
        if (_deadlineCts is { IsCancellationRequested: true })
        {
            throw Finish(new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded"), new Metadata());
        }

        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_channel.Address, _method.FullName))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        var headers = request.Headers;
        headers.TryAddWithoutValidation(GrpcProtocol.TeHeader, "trailers");
        if (_channel.UserAgent is { } userAgent)
        {
            headers.UserAgent.Add(userAgent);
        }

        headers.TryAddWithoutValidation(GrpcProtocol.AcceptEncodingHeader, GrpcProtocol.SupportedEncodings);
        if (_compress)
        {
            headers.TryAddWithoutValidation(GrpcProtocol.EncodingHeader, GrpcProtocol.Gzip);
        }

        if (_options.Deadline is { } deadline && deadline != DateTime.MaxValue)
        {
            headers.TryAddWithoutValidation(GrpcProtocol.TimeoutHeader, GrpcTimeout.Format(deadline.ToUniversalTime() - DateTime.UtcNow));
        }

        if (_options.Headers is { } metadata)
        {
            foreach (var entry in metadata)
            {
                headers.TryAddWithoutValidation(entry.Key, MetadataHeaders.ToHeaderValue(entry));
            }
        }

        HttpResponseMessage response;
        try
        {
            response = await _channel.Invoker.SendAsync(request, _callCts.Token);
        }
        catch (Exception ex)
        {
            throw ToRpcException(ex);
        }

        return ValidateResponse(response);
    }

    private HttpResponseMessage ValidateResponse(HttpResponseMessage response)
    {
        var headerStatus = ReadStatus(response.Headers);
        if (response.StatusCode != HttpStatusCode.OK && headerStatus is null)
        {
            response.Dispose();
            throw Finish(new Status(HttpStatusMapping.ToStatusCode(response.StatusCode), $"Bad gRPC response. HTTP status code: {(int)response.StatusCode}"), new Metadata());
        }

        if (headerStatus is { } status)
        {
            // Trailers-only response: no messages follow.
            var trailers = new Metadata();
            foreach (var header in response.Headers)
            {
                MetadataHeaders.AddHeaderValues(trailers, header.Key, header.Value);
            }

            response.Dispose();
            if (status.StatusCode != StatusCode.OK)
            {
                throw Finish(status, trailers);
            }

            // Trailers-only OK: a stream that ended without messages.
            Complete(status, trailers);
            return response;
        }

        var contentType = response.Content.Headers.ContentType?.ToString();
        if (!GrpcProtocol.IsGrpcContentType(contentType))
        {
            response.Dispose();
            throw Finish(new Status(StatusCode.Internal, $"Bad gRPC response. Invalid content-type value: {contentType}"), new Metadata());
        }

        if (response.Headers.TryGetValues(GrpcProtocol.EncodingHeader, out var encodings))
        {
            _responseEncoding = encodings.FirstOrDefault();
        }

        return response;
    }

    private static Status? ReadStatus(HttpHeaders headers)
    {
        if (!headers.TryGetValues(GrpcProtocol.StatusHeader, out var values))
        {
            return null;
        }

        var text = values.FirstOrDefault();
        if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var code))
        {
            return new Status(StatusCode.Unknown, $"Unexpected grpc-status value '{text}'.");
        }

        var message = headers.TryGetValues(GrpcProtocol.MessageHeader, out var messages) ? messages.FirstOrDefault() : null;
        return new Status((StatusCode)code, StatusMessageEncoding.Decode(message));
    }

    /// <summary>Records a successful end without building an exception nobody throws.</summary>
    private void Complete(Status status, Metadata trailers)
    {
        _status ??= status;
        _trailers ??= trailers;
        _requestContent?.Complete();
    }

    /// <summary>Records the final status once and returns the exception that reports it.</summary>
    private RpcException Finish(Status status, Metadata trailers)
    {
        _status ??= status;
        _trailers ??= trailers;
        _requestContent?.Complete();
        if (_status.Value.StatusCode != StatusCode.OK)
        {
            AbortTransport();
        }

        return new RpcException(_status.Value, _trailers);
    }

    /// <summary>
    /// Ends the HTTP/2 stream of a failed call at once. A stream still open (cancelled, deadline passed,
    /// local error) is reset, so the server learns the call is over even if nobody reads again.
    /// </summary>
    private void AbortTransport()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        _callCts.Cancel();
        if (_responseTask is { IsCompletedSuccessfully: true })
        {
            _responseTask.Result.Dispose();
        }
    }

    private RpcException ToRpcException(Exception exception)
    {
        if (exception is RpcException rpc)
        {
            return Finish(rpc.Status, rpc.Trailers);
        }

        if (_deadlineCts is { IsCancellationRequested: true })
        {
            return Finish(new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded"), new Metadata());
        }

        if (_options.CancellationToken.IsCancellationRequested || exception is OperationCanceledException)
        {
            return Finish(new Status(StatusCode.Cancelled, "Call cancelled by the client."), new Metadata());
        }

        var status = exception switch
        {
            HttpProtocolException { ErrorCode: 0x8 } => new Status(StatusCode.Cancelled, "Stream cancelled by the server (RST_STREAM CANCEL)."),
            HttpProtocolException { ErrorCode: 0x7 } => new Status(StatusCode.Unavailable, "Stream refused by the server (RST_STREAM REFUSED_STREAM)."),
            HttpProtocolException { ErrorCode: 0xB } => new Status(StatusCode.ResourceExhausted, "Server asked to calm down (ENHANCE_YOUR_CALM)."),
            HttpProtocolException p => new Status(StatusCode.Internal, $"HTTP/2 stream error {p.ErrorCode}: {p.Message}"),
            HttpRequestException h => new Status(StatusCode.Unavailable, $"Error connecting to {_channel.Address.Authority}: {h.Message}"),
            IOException io => new Status(StatusCode.Unavailable, $"Connection to {_channel.Address.Authority} failed: {io.Message}"),
            _ => new Status(StatusCode.Internal, $"Error in the client: {exception.GetType().Name}: {exception.Message}"),
        };
        Finish(status, new Metadata());
        return new RpcException(_status!.Value, _trailers!, exception);
    }
}
