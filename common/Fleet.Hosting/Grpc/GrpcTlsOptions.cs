using System.Security.Cryptography.X509Certificates;

namespace Fleet.Hosting.Grpc;

/// <summary>TLS for a gRPC listener. With <see cref="ClientCertificateAuthority"/> set, clients must present a certificate it issued (mutual TLS).</summary>
public sealed class GrpcTlsOptions
{
    public required X509Certificate2 ServerCertificate { get; init; }

    /// <summary>The CA that signs client certificates; null means no client certificate is asked for.</summary>
    public X509Certificate2? ClientCertificateAuthority { get; init; }

    /// <summary>Also serve HTTP/1.1 (negotiated by ALPN) so browsers and scrapers can share the port.</summary>
    public bool AllowHttp1 { get; init; }
}
