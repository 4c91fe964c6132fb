using Google.Protobuf;
using Google.Protobuf.Reflection;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Fleet.Rpc.Server;

/// <summary>
/// One bound method: validates the call, runs the handler, turns its outcome into a status. The
/// four call kinds differ only in how they read requests and write responses (subclasses).
/// </summary>
internal abstract class ServerMethod(MethodDescriptor descriptor, GrpcServerOptions options, ILogger logger)
{
    public MethodDescriptor Descriptor { get; } = descriptor;

    public string Path { get; } = $"/{descriptor.Service.FullName}/{descriptor.Name}";

    public async Task HandleAsync(HttpContext httpContext)
    {
        using var call = await ServerCall.TryBeginAsync(httpContext, options, logger, Path);
        if (call is null)
        {
            return;
        }

        Status status;
        try
        {
            await InvokeAsync(call);
            status = call.Context.Status;
        }
        catch (Exception ex)
        {
            status = call.StatusFromException(ex);
        }

        await call.FinishAsync(status);
    }

    protected abstract Task InvokeAsync(ServerCall call);

    protected static TService ResolveService<TService>(ServerCall call)
        where TService : class =>
        call.Context.HttpContext.RequestServices.GetRequiredService<TService>();
}

internal sealed class UnaryServerMethod<TService, TRequest, TResponse>(
    MethodDescriptor descriptor, GrpcServerOptions options, ILogger logger,
    Func<TService, TRequest, ServerCallContext, Task<TResponse>> handler)
    : ServerMethod(descriptor, options, logger)
    where TService : class
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    private readonly MessageParser<TRequest> _parser = (MessageParser<TRequest>)descriptor.InputType.Parser;

    protected override async Task InvokeAsync(ServerCall call)
    {
        var request = await call.ReadSingleMessageAsync(_parser);
        var response = await handler(ResolveService<TService>(call), request, call.Context);
        if (call.Context.Status.StatusCode == StatusCode.OK)
        {
            await call.WriteMessageAsync(response ?? throw new InvalidOperationException("The handler returned no response."), call.CancellationToken);
        }
    }
}

internal sealed class ServerStreamingServerMethod<TService, TRequest, TResponse>(
    MethodDescriptor descriptor, GrpcServerOptions options, ILogger logger,
    Func<TService, TRequest, IServerStreamWriter<TResponse>, ServerCallContext, Task> handler)
    : ServerMethod(descriptor, options, logger)
    where TService : class
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    private readonly MessageParser<TRequest> _parser = (MessageParser<TRequest>)descriptor.InputType.Parser;

    protected override async Task InvokeAsync(ServerCall call)
    {
        var request = await call.ReadSingleMessageAsync(_parser);
        await handler(ResolveService<TService>(call), request, new ResponseStreamWriter<TResponse>(call), call.Context);
    }
}

internal sealed class ClientStreamingServerMethod<TService, TRequest, TResponse>(
    MethodDescriptor descriptor, GrpcServerOptions options, ILogger logger,
    Func<TService, IAsyncStreamReader<TRequest>, ServerCallContext, Task<TResponse>> handler)
    : ServerMethod(descriptor, options, logger)
    where TService : class
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    private readonly MessageParser<TRequest> _parser = (MessageParser<TRequest>)descriptor.InputType.Parser;

    protected override async Task InvokeAsync(ServerCall call)
    {
        var response = await handler(ResolveService<TService>(call), call.CreateRequestReader(_parser), call.Context);
        if (call.Context.Status.StatusCode == StatusCode.OK)
        {
            await call.WriteMessageAsync(response ?? throw new InvalidOperationException("The handler returned no response."), call.CancellationToken);
        }
    }
}

internal sealed class DuplexStreamingServerMethod<TService, TRequest, TResponse>(
    MethodDescriptor descriptor, GrpcServerOptions options, ILogger logger,
    Func<TService, IAsyncStreamReader<TRequest>, IServerStreamWriter<TResponse>, ServerCallContext, Task> handler)
    : ServerMethod(descriptor, options, logger)
    where TService : class
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    private readonly MessageParser<TRequest> _parser = (MessageParser<TRequest>)descriptor.InputType.Parser;

    protected override Task InvokeAsync(ServerCall call) =>
        handler(ResolveService<TService>(call), call.CreateRequestReader(_parser), new ResponseStreamWriter<TResponse>(call), call.Context);
}

/// <summary>The response stream handed to streaming handlers.</summary>
internal sealed class ResponseStreamWriter<T>(ServerCall call) : IServerStreamWriter<T>
    where T : IMessage<T>
{
    public Task WriteAsync(T message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        return call.WriteMessageAsync(message, cancellationToken.CanBeCanceled ? cancellationToken : call.CancellationToken);
    }
}
