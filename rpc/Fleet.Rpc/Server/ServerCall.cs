using System.Globalization;
using System.IO.Pipelines;
using Fleet.Rpc.Protocol;
using Google.Protobuf;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.Logging;

namespace Fleet.Rpc.Server;

/// <summary>
/// One call in progress on the server: validates the request, owns the response (headers, messages,
/// trailers) and enforces the deadline. Response writes go through a small state machine so that the
/// deadline timer and the handler never write at the same time.
/// </summary>
internal sealed class ServerCall : IDisposable
{
    private const int Idle = 0;
    private const int Writing = 1;
    private const int Finished = 2;

    private readonly HttpContext _httpContext;
    private readonly GrpcServerOptions _options;
    private readonly ILogger _logger;
    private readonly string _method;
    private readonly string? _requestEncoding;
    private readonly bool _compressResponses;
    private readonly CancellationTokenSource _callCts;
    private readonly CancellationTokenSource? _deadlineCts;
    private readonly CancellationTokenRegistration _deadlineRegistration;
    private int _writeState;
    private volatile bool _deadlineExceeded;

    private ServerCall(HttpContext httpContext, GrpcServerOptions options, ILogger logger, string method, TimeSpan? timeout, string? requestEncoding)
    {
        _httpContext = httpContext;
        _options = options;
        _logger = logger;
        _method = method;
        _requestEncoding = requestEncoding;
        _compressResponses = options.CompressResponses && AcceptsGzip(httpContext.Request.Headers[GrpcProtocol.AcceptEncodingHeader]);
        _callCts = CancellationTokenSource.CreateLinkedTokenSource(httpContext.RequestAborted);

        var deadline = DateTime.MaxValue;
        // Beyond a timer's range (about 49 days) a deadline is effectively none.
        if (timeout is { } t && t < TimeSpan.FromDays(30))
        {
            deadline = DateTime.UtcNow + t;
            _deadlineCts = new CancellationTokenSource(t);
            _deadlineRegistration = _deadlineCts.Token.UnsafeRegister(static s => ((ServerCall)s!).OnDeadline(), this);
        }

        var headers = new Metadata();
        foreach (var header in httpContext.Request.Headers)
        {
            MetadataHeaders.AddHeaderValues(headers, header.Key, header.Value);
        }

        Context = new ServerCallContext(this, httpContext, method, deadline, headers, _callCts.Token);
    }

    public ServerCallContext Context { get; }

    public CancellationToken CancellationToken => _callCts.Token;

    /// <summary>
    /// Validates protocol, content type, encoding and timeout. Returns null after answering the request
    /// itself when it is not an acceptable gRPC call.
    /// </summary>
    public static async Task<ServerCall?> TryBeginAsync(HttpContext httpContext, GrpcServerOptions options, ILogger logger, string method)
    {
        var request = httpContext.Request;
        var response = httpContext.Response;
        if (!HttpProtocol.IsHttp2(request.Protocol))
        {
            RpcServerLog.RequestRejected(logger, request.Path, $"protocol {request.Protocol} is not HTTP/2");
            response.StatusCode = StatusCodes.Status426UpgradeRequired;
            response.Headers.Connection = "Upgrade";
            response.Headers.Upgrade = "h2";
            await response.WriteAsync("gRPC requires HTTP/2.\n");
            return null;
        }

        if (!GrpcProtocol.IsGrpcContentType(request.ContentType))
        {
            RpcServerLog.RequestRejected(logger, request.Path, $"content-type '{request.ContentType}' is not application/grpc");
            response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            response.Headers.Accept = GrpcProtocol.ContentType;
            await response.WriteAsync("Content-Type must be application/grpc.\n");
            return null;
        }

        // Streams are long-lived: gRPC's own message limits replace Kestrel's body size and rate limits.
        if (httpContext.Features.Get<IHttpMinRequestBodyDataRateFeature>() is { } rate)
        {
            rate.MinDataRate = null;
        }

        if (httpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = null;
        }

        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = GrpcProtocol.ContentType;
        response.Headers[GrpcProtocol.AcceptEncodingHeader] = GrpcProtocol.SupportedEncodings;

        var encoding = request.Headers[GrpcProtocol.EncodingHeader].ToString();
        if (encoding.Length > 0 && encoding != GrpcProtocol.Identity && encoding != GrpcProtocol.Gzip)
        {
            await WriteTrailersOnlyAsync(httpContext, new Status(StatusCode.Unimplemented, $"Unsupported grpc-encoding '{encoding}'; supported: {GrpcProtocol.SupportedEncodings}."));
            return null;
        }

        TimeSpan? timeout = null;
        var timeoutHeader = request.Headers[GrpcProtocol.TimeoutHeader].ToString();
        if (timeoutHeader.Length > 0)
        {
            if (!GrpcTimeout.TryParse(timeoutHeader, out var parsed))
            {
                await WriteTrailersOnlyAsync(httpContext, new Status(StatusCode.Internal, $"Malformed grpc-timeout '{timeoutHeader}'."));
                return null;
            }

            timeout = parsed;
        }

        var call = new ServerCall(httpContext, options, logger, method, timeout, encoding.Length > 0 ? encoding : null);
        if (call._compressResponses)
        {
            response.Headers[GrpcProtocol.EncodingHeader] = GrpcProtocol.Gzip;
        }

        return call;
    }

    /// <summary>Reads the one request message of a unary or server-streaming call.</summary>
    public async Task<T> ReadSingleMessageAsync<T>(MessageParser<T> parser)
        where T : class, IMessage<T>
    {
        var reader = _httpContext.Request.BodyReader;
        var message = await MessageFraming.ReadMessageAsync(reader, parser, _options.MaxReceiveMessageSize, _requestEncoding, CancellationToken)
            ?? throw new RpcException(StatusCode.Internal, "Request ended without a message; this method takes exactly one.");
        var extra = await MessageFraming.ReadMessageAsync(reader, parser, _options.MaxReceiveMessageSize, _requestEncoding, CancellationToken);
        if (extra is not null)
        {
            throw new RpcException(StatusCode.Internal, "Request has more than one message; this method takes exactly one.");
        }

        return message;
    }

    public IAsyncStreamReader<T> CreateRequestReader<T>(MessageParser<T> parser)
        where T : class, IMessage<T> =>
        new RequestStreamReader<T>(this, _httpContext.Request.BodyReader, parser);

    internal ValueTask<T?> ReadNextAsync<T>(PipeReader reader, MessageParser<T> parser, CancellationToken cancellationToken)
        where T : class, IMessage<T> =>
        MessageFraming.ReadMessageAsync(reader, parser, _options.MaxReceiveMessageSize, _requestEncoding, cancellationToken);

    public async Task WriteMessageAsync<T>(T message, CancellationToken cancellationToken)
        where T : IMessage<T>
    {
        EnterWrite();
        try
        {
            var writer = _httpContext.Response.BodyWriter;
            MessageFraming.WriteMessage(writer, message, _options.MaxSendMessageSize, _compressResponses);
            await writer.FlushAsync(cancellationToken);
        }
        finally
        {
            Interlocked.CompareExchange(ref _writeState, Idle, Writing);
        }
    }

    public async Task WriteResponseHeadersAsync(Metadata headers)
    {
        EnterWrite();
        try
        {
            if (_httpContext.Response.HasStarted)
            {
                throw new InvalidOperationException("Response headers were already sent.");
            }

            foreach (var entry in headers)
            {
                _httpContext.Response.Headers.Append(entry.Key, MetadataHeaders.ToHeaderValue(entry));
            }

            await _httpContext.Response.BodyWriter.FlushAsync(CancellationToken);
        }
        finally
        {
            Interlocked.CompareExchange(ref _writeState, Idle, Writing);
        }
    }

    /// <summary>Sends the final status unless the deadline already ended the call.</summary>
    public async Task FinishAsync(Status status)
    {
        if (Interlocked.CompareExchange(ref _writeState, Finished, Idle) != Idle)
        {
            return;
        }

        await WriteStatusAsync(status);
    }

    /// <summary>Turns what a handler threw into the status to send, logging as grpc-dotnet does.</summary>
    public Status StatusFromException(Exception exception)
    {
        if (_deadlineExceeded)
        {
            return new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded");
        }

        switch (exception)
        {
            case RpcException rpc:
                foreach (var entry in rpc.Trailers)
                {
                    Context.ResponseTrailers.Add(entry);
                }

                RpcServerLog.CallFailedWithStatus(_logger, _method, rpc.StatusCode, rpc.Status.Detail);
                return rpc.Status;
            case OperationCanceledException when _httpContext.RequestAborted.IsCancellationRequested:
                RpcServerLog.CallCancelled(_logger, _method);
                return new Status(StatusCode.Cancelled, "Call cancelled by the client.");
            case IOException or ConnectionAbortedException:
                // The client's stream or connection went away mid-call: nobody is left to answer.
                RpcServerLog.CallCancelled(_logger, _method);
                return new Status(StatusCode.Cancelled, "The client's stream or connection was lost.");
            default:
                RpcServerLog.HandlerException(_logger, _method, exception);
                var detail = _options.EnableDetailedErrors
                    ? $"Exception was thrown by handler. {exception.GetType().Name}: {exception.Message}"
                    : "Exception was thrown by handler.";
                return new Status(StatusCode.Unknown, detail);
        }
    }

    public void Dispose()
    {
        _deadlineRegistration.Dispose();
        _deadlineCts?.Dispose();
        _callCts.Dispose();
    }

    internal static Task WriteTrailersOnlyAsync(HttpContext httpContext, Status status)
    {
        var response = httpContext.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = GrpcProtocol.ContentType;
        response.Headers[GrpcProtocol.StatusHeader] = ((int)status.StatusCode).ToString(CultureInfo.InvariantCulture);
        if (!string.IsNullOrEmpty(status.Detail))
        {
            response.Headers[GrpcProtocol.MessageHeader] = StatusMessageEncoding.Encode(status.Detail);
        }

        return response.CompleteAsync();
    }

    private void EnterWrite()
    {
        var state = Interlocked.CompareExchange(ref _writeState, Writing, Idle);
        if (state == Idle)
        {
            return;
        }

        if (state == Finished)
        {
            if (_deadlineExceeded)
            {
                throw new RpcException(StatusCode.DeadlineExceeded, "Deadline Exceeded");
            }

            throw new InvalidOperationException("The call has already finished.");
        }

        throw new InvalidOperationException("Another write is in progress; writes on one call must not overlap.");
    }

    private async Task WriteStatusAsync(Status status)
    {
        var response = _httpContext.Response;
        var code = ((int)status.StatusCode).ToString(CultureInfo.InvariantCulture);
        var message = string.IsNullOrEmpty(status.Detail) ? null : StatusMessageEncoding.Encode(status.Detail);
        try
        {
            if (!response.HasStarted)
            {
                // Trailers-only response: the status travels in the only HEADERS frame.
                response.Headers[GrpcProtocol.StatusHeader] = code;
                if (message is not null)
                {
                    response.Headers[GrpcProtocol.MessageHeader] = message;
                }

                foreach (var entry in Context.ResponseTrailers)
                {
                    response.Headers.Append(entry.Key, MetadataHeaders.ToHeaderValue(entry));
                }
            }
            else
            {
                response.AppendTrailer(GrpcProtocol.StatusHeader, code);
                if (message is not null)
                {
                    response.AppendTrailer(GrpcProtocol.MessageHeader, message);
                }

                foreach (var entry in Context.ResponseTrailers)
                {
                    response.AppendTrailer(entry.Key, MetadataHeaders.ToHeaderValue(entry));
                }
            }

            await response.CompleteAsync();
        }
        catch (Exception ex) when (ex is IOException or ConnectionAbortedException or OperationCanceledException or InvalidOperationException
                                   && _httpContext.RequestAborted.IsCancellationRequested)
        {
            // The client is gone; there is nobody to tell.
        }
    }

    private void OnDeadline()
    {
        _deadlineExceeded = true;
        RpcServerLog.DeadlineExceeded(_logger, _method);
        try
        {
            _callCts.Cancel();
        }
        catch (ObjectDisposedException)
        {
            return;
        }

        var state = Interlocked.CompareExchange(ref _writeState, Finished, Idle);
        if (state == Idle)
        {
            // Answer on time even if the handler ignores its cancellation token.
            _ = WriteStatusAsync(new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded"));
        }
        else if (state == Writing)
        {
            // A write is blocked (flow control); the only safe way to end the stream now is a reset.
            _httpContext.Features.Get<IHttpResetFeature>()?.Reset(0x8 /* CANCEL */);
        }
    }

    private static bool AcceptsGzip(string? acceptEncoding) =>
        acceptEncoding is not null && acceptEncoding.Split(',').Any(e => e.Trim() == GrpcProtocol.Gzip);

    private sealed class RequestStreamReader<T>(ServerCall call, PipeReader reader, MessageParser<T> parser) : IAsyncStreamReader<T>
        where T : class, IMessage<T>
    {
        private T? _current;

        public T Current => _current ?? throw new InvalidOperationException("MoveNext has not returned true.");

        public async Task<bool> MoveNext(CancellationToken cancellationToken = default)
        {
            if (!cancellationToken.CanBeCanceled || cancellationToken == call.CancellationToken)
            {
                _current = await call.ReadNextAsync(reader, parser, call.CancellationToken);
                return _current is not null;
            }

            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, call.CancellationToken);
            _current = await call.ReadNextAsync(reader, parser, linked.Token);
            return _current is not null;
        }
    }
}
