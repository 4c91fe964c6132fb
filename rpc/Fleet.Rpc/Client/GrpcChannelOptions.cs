using System.Security.Cryptography.X509Certificates;

namespace Fleet.Rpc.Client;

/// <summary>Settings of a <see cref="GrpcChannel"/>.</summary>
public sealed class GrpcChannelOptions
{
    /// <summary>Largest response message accepted, in bytes (default 4 MiB); larger ones fail with RESOURCE_EXHAUSTED.</summary>
    public int MaxReceiveMessageSize { get; set; } = Protocol.GrpcProtocol.DefaultMaxReceiveMessageSize;

    /// <summary>Largest request message sent, in bytes; null means no limit.</summary>
    public int? MaxSendMessageSize { get; set; }

    /// <summary>Compress request messages with gzip by default.</summary>
    public bool CompressRequests { get; set; }

    /// <summary>For https addresses: the CA that must have issued the server's certificate (system roots when null).</summary>
    public X509Certificate2? ServerCertificateAuthority { get; set; }

    /// <summary>For https addresses: the client certificate presented for mutual TLS.</summary>
    public X509Certificate2? ClientCertificate { get; set; }

    /// <summary>
    /// HTTP/2 PING interval while calls are active, to notice dead connections; infinite disables it.
    /// Keep it at 10 s or more: grpc-core servers answer frequent pings with GOAWAY "too many pings".
    /// </summary>
    public TimeSpan KeepAlivePingDelay { get; set; } = Timeout.InfiniteTimeSpan;

    public TimeSpan KeepAlivePingTimeout { get; set; } = TimeSpan.FromSeconds(20);

    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Replaces the built-in SocketsHttpHandler (tests, custom transports). The channel disposes it.</summary>
    public HttpMessageHandler? HttpHandler { get; set; }

    public string UserAgent { get; set; } = "fleet-rpc/1.0";
}
