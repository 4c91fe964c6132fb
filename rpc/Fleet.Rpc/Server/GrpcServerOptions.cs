namespace Fleet.Rpc.Server;

/// <summary>Server-wide gRPC settings.</summary>
public sealed class GrpcServerOptions
{
    /// <summary>Largest request message accepted, in bytes; larger ones fail with RESOURCE_EXHAUSTED. Default 4 MiB.</summary>
    public int MaxReceiveMessageSize { get; set; } = Protocol.GrpcProtocol.DefaultMaxReceiveMessageSize;

    /// <summary>Largest response message sent, in bytes; null means no limit (gRPC's default).</summary>
    public int? MaxSendMessageSize { get; set; }

    /// <summary>Put exception types and messages in UNKNOWN statuses. Off by default: they may reveal internals.</summary>
    public bool EnableDetailedErrors { get; set; }

    /// <summary>Compress responses with gzip when the client accepts it. Off by default: CPU matters more on loopback and LANs.</summary>
    public bool CompressResponses { get; set; }
}
