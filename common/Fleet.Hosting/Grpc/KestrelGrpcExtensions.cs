using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace Fleet.Hosting.Grpc;

public static class KestrelGrpcExtensions
{
    /// <summary>
    /// Listens for gRPC on <paramref name="endPoint"/>: cleartext HTTP/2 with prior knowledge when
    /// <paramref name="tls"/> is null (HTTP/1.1 on cleartext would break gRPC clients), TLS otherwise.
    /// </summary>
    public static void ListenGrpc(this KestrelServerOptions kestrel, IPEndPoint endPoint, GrpcTlsOptions? tls = null)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        kestrel.Listen(endPoint, listen =>
        {
            if (tls is null)
            {
                listen.Protocols = HttpProtocols.Http2;
                return;
            }

            listen.Protocols = tls.AllowHttp1 ? HttpProtocols.Http1AndHttp2 : HttpProtocols.Http2;
            listen.UseHttps(https =>
            {
                https.ServerCertificate = tls.ServerCertificate;
                if (tls.ClientCertificateAuthority is { } authority)
                {
                    https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
                    https.ClientCertificateValidation = (certificate, _, errors) =>
                        CertificateValidation.ChainsTo(certificate, authority, errors & ~System.Net.Security.SslPolicyErrors.RemoteCertificateChainErrors, checkName: false);
                }
            });
        });
    }
}
