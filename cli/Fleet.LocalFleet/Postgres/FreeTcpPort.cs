using System.Net;
using System.Net.Sockets;

namespace Fleet.LocalFleet.Postgres;

/// <summary>
/// Picks loopback ports the kernel reports free. Another process can still take a port before the
/// server binds it, so callers retry start-up with a new port when the log says "Address already in use".
/// </summary>
public static class FreeTcpPort
{
    // Never hand the same port to two nodes of this process, even after the first was released.
    private static readonly HashSet<int> HandedOut = [];
    private static readonly Lock Gate = new();

    public static int Pick()
    {
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            lock (Gate)
            {
                if (HandedOut.Add(port))
                {
                    return port;
                }
            }
        }
    }
}
