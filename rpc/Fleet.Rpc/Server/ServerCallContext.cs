using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Http;

namespace Fleet.Rpc.Server;

/// <summary>What a service handler knows about the call it serves.</summary>
public sealed class ServerCallContext
{
    private readonly ServerCall _call;

    internal ServerCallContext(ServerCall call, HttpContext httpContext, string method, DateTime deadline, Metadata requestHeaders, CancellationToken cancellationToken)
    {
        _call = call;
        HttpContext = httpContext;
        Method = method;
        Deadline = deadline;
        RequestHeaders = requestHeaders;
        CancellationToken = cancellationToken;
    }

    /// <summary>The method path, "/package.Service/Method".</summary>
    public string Method { get; }

    public string Host => HttpContext.Request.Host.Value ?? string.Empty;

    /// <summary>The caller's address in gRPC's form, e.g. "ipv4:127.0.0.1:50000".</summary>
    public string Peer
    {
        get
        {
            var connection = HttpContext.Connection;
            var address = connection.RemoteIpAddress;
            if (address is null)
            {
                return "unknown";
            }

            var family = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "ipv6:[" + address + "]" : "ipv4:" + address;
            return $"{family}:{connection.RemotePort}";
        }
    }

    /// <summary>When the call must end (UTC); <see cref="DateTime.MaxValue"/> without a deadline.</summary>
    public DateTime Deadline { get; }

    public Metadata RequestHeaders { get; }

    /// <summary>Cancelled when the client cancels, the deadline passes or the server shuts down.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>Trailing metadata sent with the status.</summary>
    public Metadata ResponseTrailers { get; } = new();

    /// <summary>The status sent when the handler returns normally (OK unless set).</summary>
    public Status Status { get; set; } = Status.DefaultSuccess;

    /// <summary>The client's TLS certificate when mutual TLS is in use.</summary>
    public X509Certificate2? PeerCertificate => HttpContext.Connection.ClientCertificate;

    public HttpContext HttpContext { get; }

    /// <summary>Sends response headers (initial metadata) now, before any message. Allowed once.</summary>
    public Task WriteResponseHeadersAsync(Metadata headers) => _call.WriteResponseHeadersAsync(headers);
}
