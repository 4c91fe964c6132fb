using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Fleet.Hosting.Grpc;

/// <summary>
/// Grpc.AspNetCore reads the messages of a client or bidirectional stream inside the handler's own
/// <c>MoveNext</c>, so bytes that are no protobuf, or a bad compressed flag, surface as an exception the
/// handler did not expect: UNKNOWN "Exception was thrown by handler." and an error in the server's log,
/// as if Fleet were broken. This wraps those readers so malformed input is the caller's fault, as gRPC's
/// status guide says: INTERNAL with what was wrong, logged at Information like any status a handler raises.
/// </summary>
internal sealed class MalformedRequestInterceptor : Interceptor
{
    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation) =>
        continuation(new GuardedReader<TRequest>(requestStream), context);

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        DuplexStreamingServerMethod<TRequest, TResponse> continuation) =>
        continuation(new GuardedReader<TRequest>(requestStream), responseStream, context);

    private sealed class GuardedReader<T>(IAsyncStreamReader<T> inner) : IAsyncStreamReader<T>
    {
        public T Current => inner.Current;

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            try
            {
                return await inner.MoveNext(cancellationToken);
            }
            catch (InvalidProtocolBufferException ex)
            {
                throw new RpcException(new Status(StatusCode.Internal, $"Failed to deserialize {typeof(T).Name}: {ex.Message}"));
            }
            catch (InvalidDataException ex)
            {
                throw new RpcException(new Status(StatusCode.Internal, $"Invalid frame: {ex.Message}"));
            }
        }
    }
}
