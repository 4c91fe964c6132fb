using System.Security.Cryptography.X509Certificates;

namespace Fleet.Hosting.Grpc;

/// <summary>How a Fleet process dials a gRPC server (see <see cref="GrpcChannels"/>).</summary>
public sealed class GrpcClientOptions
{
    /// <summary>Largest response message accepted, in bytes (default 4 MiB); larger ones fail with RESOURCE_EXHAUSTED.</summary>
    public int MaxReceiveMessageSize { get; set; } = GrpcServerOptions.DefaultMaxReceiveMessageSize;

    /// <summary>Largest request message sent, in bytes; null means no limit.</summary>
    public int? MaxSendMessageSize { get; set; }

    /// <summary>For https addresses: the CA that must have issued the server's certificate (system roots when null).</summary>
    public X509Certificate2? ServerCertificateAuthority { get; set; }

    /// <summary>For https addresses: the client certificate presented for mutual TLS.</summary>
    public X509Certificate2? ClientCertificate { get; set; }

    /// <summary>
    /// HTTP/2 PING interval while calls are active, so a dead peer is noticed on an idle stream; infinite
    /// disables it. Keep it at 10 s or more: grpc-core servers answer frequent pings with GOAWAY "too many pings".
    /// </summary>
    public TimeSpan KeepAlivePingDelay { get; set; } = Timeout.InfiniteTimeSpan;

    /// <summary>How long an unanswered PING may wait before the connection is closed as dead.</summary>
    public TimeSpan KeepAlivePingTimeout { get; set; } = TimeSpan.FromSeconds(20);

    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
