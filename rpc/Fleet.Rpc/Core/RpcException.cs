namespace Fleet.Rpc;

/// <summary>
/// A call that ended with a non-OK status. Thrown by client calls; thrown by service handlers to return
/// a specific status (its trailers are sent to the client).
/// </summary>
public sealed class RpcException : Exception
{
    public RpcException(Status status)
        : this(status, new Metadata())
    {
    }

    public RpcException(Status status, Metadata trailers)
        : this(status, trailers, null)
    {
    }

    public RpcException(Status status, Metadata trailers, Exception? innerException)
        : base(status.ToString(), innerException)
    {
        Status = status;
        Trailers = trailers;
    }

    public RpcException(StatusCode code, string detail)
        : this(new Status(code, detail))
    {
    }

    public Status Status { get; }

    public StatusCode StatusCode => Status.StatusCode;

    /// <summary>Trailing metadata: received from the server (client side) or to send (server side).</summary>
    public Metadata Trailers { get; }
}
