namespace Fleet.Hosting.Grpc;

/// <summary>The gRPC server settings Fleet's hosts choose; applied to Grpc.AspNetCore's own options.</summary>
public sealed class GrpcServerOptions
{
    /// <summary>4 MiB, gRPC's usual default for received messages.</summary>
    public const int DefaultMaxReceiveMessageSize = 4 * 1024 * 1024;

    /// <summary>Largest request message accepted, in bytes, after decompression; larger ones fail with RESOURCE_EXHAUSTED.</summary>
    public int MaxReceiveMessageSize { get; set; } = DefaultMaxReceiveMessageSize;

    /// <summary>Largest response message sent, in bytes; null means no limit (gRPC's default).</summary>
    public int? MaxSendMessageSize { get; set; }

    /// <summary>Put exception messages in UNKNOWN statuses. Off: they may reveal internals.</summary>
    public bool EnableDetailedErrors { get; set; }

    /// <summary>Compress responses with gzip when the client accepts it. Off: CPU matters more than bytes on loopback and LANs.</summary>
    public bool CompressResponses { get; set; }
}
