namespace Fleet.Rpc.Client;

/// <summary>Per-call settings: metadata, deadline, cancellation, compression.</summary>
public readonly record struct CallOptions
{
    public CallOptions(Metadata? headers = null, DateTime? deadline = null, CancellationToken cancellationToken = default, bool? compress = null)
    {
        Headers = headers;
        Deadline = deadline;
        CancellationToken = cancellationToken;
        Compress = compress;
    }

    /// <summary>Custom request metadata.</summary>
    public Metadata? Headers { get; init; }

    /// <summary>Absolute UTC deadline, sent as grpc-timeout and enforced locally too.</summary>
    public DateTime? Deadline { get; init; }

    public CancellationToken CancellationToken { get; init; }

    /// <summary>Compress request messages with gzip; null follows the channel's setting.</summary>
    public bool? Compress { get; init; }

    /// <summary>A copy whose deadline is <paramref name="timeout"/> from now.</summary>
    public CallOptions WithTimeout(TimeSpan timeout) => this with { Deadline = DateTime.UtcNow + timeout };
}
