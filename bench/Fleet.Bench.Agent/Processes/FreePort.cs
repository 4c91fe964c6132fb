using System.Net;
using System.Net.Sockets;

namespace Fleet.Bench.Agent.Processes;

/// <summary>Loopback ports the kernel reports free, never the same one twice in a run.</summary>
internal static class FreePort
{
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
