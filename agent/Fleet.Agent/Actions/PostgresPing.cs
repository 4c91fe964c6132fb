using System.Net.Sockets;
using Fleet.Agent.Configuration;

namespace Fleet.Agent.Actions;

/// <summary>What one protocol ping found.</summary>
public enum PingOutcome
{
    /// <summary>A backend answered: the postmaster accepted, forked and the child ran.</summary>
    Answered,

    /// <summary>Nothing listens (connection refused, no socket file): PostgreSQL is not running.</summary>
    Refused,

    /// <summary>No answer within the timeout: frozen, stalled or overloaded (or unreachable over the network).</summary>
    NoAnswer,
}

/// <summary>
/// A credential-free liveness probe of PostgreSQL: open a connection and send an SSLRequest, which the
/// forked backend answers with one byte ('S' or 'N') before any authentication or disk access. A frozen
/// postmaster cannot fork and a frozen backend cannot answer, while the kernel still completes the TCP
/// handshake from the listen backlog, so "connected" alone proves nothing; the byte does. Closing right
/// after the answer leaves no log line (the backend sees end of input where a startup packet would begin).
/// </summary>
internal static class PostgresPing
{
    private static readonly byte[] SslRequest = [0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F];

    public static async Task<PingOutcome> PingAsync(PostgresOptions postgres, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var (endpoint, family, protocol) = Endpoint(postgres);
        using var socket = new Socket(family, SocketType.Stream, protocol);
        try
        {
            await socket.ConnectAsync(endpoint, deadline.Token);
            await socket.SendAsync(SslRequest, SocketFlags.None, deadline.Token);
            var answer = new byte[1];
            var read = await socket.ReceiveAsync(answer, SocketFlags.None, deadline.Token);
            // Any byte is an answer; end of input right away means the backend exited (too many
            // connections is answered with an error message, not EOF): running, so answered too.
            return read >= 0 ? PingOutcome.Answered : PingOutcome.NoAnswer;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return PingOutcome.NoAnswer;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.AddressNotAvailable
                                            or SocketError.AddressFamilyNotSupported or SocketError.ConnectionReset)
        {
            return PingOutcome.Refused;
        }
        catch (SocketException)
        {
            // Host unreachable, network down: from here PostgreSQL does not answer.
            return PingOutcome.NoAnswer;
        }
    }

    private static (System.Net.EndPoint Endpoint, AddressFamily Family, ProtocolType Protocol) Endpoint(PostgresOptions postgres)
    {
        if (postgres.Host.StartsWith('/'))
        {
            var path = Path.Combine(postgres.Host, $".s.PGSQL.{postgres.Port}");
            return (new UnixDomainSocketEndPoint(path), AddressFamily.Unix, ProtocolType.Unspecified);
        }

        if (System.Net.IPAddress.TryParse(postgres.Host, out var address))
        {
            return (new System.Net.IPEndPoint(address, postgres.Port), address.AddressFamily, ProtocolType.Tcp);
        }

        return (new System.Net.DnsEndPoint(postgres.Host, postgres.Port), AddressFamily.InterNetwork, ProtocolType.Tcp);
    }
}
