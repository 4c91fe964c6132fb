using Fleet.Aggregator.Requests;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Fleet.Aggregator.Api;

/// <summary>
/// The gRPC edge of a domain refusal: a <see cref="RequestRefusedException"/> thrown by any handler
/// becomes the matching status, with its message as the detail.
/// </summary>
internal sealed class RefusalInterceptor : Interceptor
{
    internal static StatusCode StatusCodeOf(RefusalKind kind) => kind switch
    {
        RefusalKind.NotFound => StatusCode.NotFound,
        RefusalKind.StaleEpoch => StatusCode.Aborted,
        RefusalKind.NotLeader => StatusCode.FailedPrecondition,
        _ => StatusCode.InvalidArgument,
    };

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (RequestRefusedException ex)
        {
            throw ToRpc(ex);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (RequestRefusedException ex)
        {
            throw ToRpc(ex);
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(requestStream, responseStream, context);
        }
        catch (RequestRefusedException ex)
        {
            throw ToRpc(ex);
        }
    }

    private static RpcException ToRpc(RequestRefusedException ex) => new(new Status(StatusCodeOf(ex.Kind), ex.Message));
}
