using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Fleet.LocalFleet.Postgres;

/// <summary>
/// Picks loopback ports the kernel reports free, never the same one twice in this process. Another process
/// can still take a port before the server binds it, so callers retry start-up with a new port when the
/// log says "Address already in use".
/// </summary>
public static class FreeTcpPort
{
    // Never hand the same port to two nodes of this process, even after the first was released.
    private static readonly HashSet<int> HandedOut = [];
    private static readonly Lock Gate = new();

    /// <summary>The lowest port <see cref="PickConsecutive"/> hands out.</summary>
    private const int LowestBlockPort = 20_000;

    /// <summary>
    /// The first of <paramref name="count"/> consecutive ports that are all free now (a local fleet takes base
    /// ports and gives node i base + i). Taken below the kernel's ephemeral range, which every outgoing
    /// connection draws from: a port chosen there can be taken by a client socket before the fleet binds it.
    /// </summary>
    public static int PickConsecutive(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var below = Math.Max(EphemeralRangeStart(), LowestBlockPort + 1_000 + count);
        for (var attempt = 0; attempt < 500; attempt++)
        {
            var first = Random.Shared.Next(LowestBlockPort, below - count);
            lock (Gate)
            {
                var ports = Enumerable.Range(first, count).ToList();
                if (ports.Any(HandedOut.Contains) || !ports.All(IsFree))
                {
                    continue;
                }

                HandedOut.UnionWith(ports);
                return first;
            }
        }

        throw new InvalidOperationException($"No {count} consecutive free loopback ports found between {LowestBlockPort} and {below}.");
    }

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

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int EphemeralRangeStart()
    {
        try
        {
            var first = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[0];
            return int.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out var port) ? port : 32_768;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or IndexOutOfRangeException)
        {
            return 32_768;
        }
    }
}
