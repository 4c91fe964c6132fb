using Grpc.Net.Client;

namespace Fleet.Hosting.Grpc;

/// <summary>
/// Creates Grpc.Net.Client channels the way every Fleet client needs them: one SocketsHttpHandler with
/// connect timeout, keepalive pings and (for https) a private CA and client certificate.
/// </summary>
public static class GrpcChannels
{
    public static GrpcChannel ForAddress(string address, GrpcClientOptions? options = null) => ForAddress(new Uri(address), options);

    public static GrpcChannel ForAddress(Uri address, GrpcClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps)
        {
            throw new ArgumentException($"Address '{address}' must use http (cleartext HTTP/2) or https (TLS).", nameof(address));
        }

        options ??= new GrpcClientOptions();
        return GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = CreateHandler(options),
            DisposeHttpClient = true,
            MaxReceiveMessageSize = options.MaxReceiveMessageSize,
            MaxSendMessageSize = options.MaxSendMessageSize,
        });
    }

    private static SocketsHttpHandler CreateHandler(GrpcClientOptions options)
    {
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            UseCookies = false,
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = System.Net.DecompressionMethods.None,
            ConnectTimeout = options.ConnectTimeout,
            KeepAlivePingDelay = options.KeepAlivePingDelay,
            KeepAlivePingTimeout = options.KeepAlivePingTimeout,
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        };
        if (options.ClientCertificate is { } clientCertificate)
        {
            handler.SslOptions.ClientCertificates = [clientCertificate];
        }

        if (options.ServerCertificateAuthority is { } authority)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = CertificateValidation.ServerSignedBy(authority);
        }

        return handler;
    }
}
