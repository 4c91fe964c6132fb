using System.Net;
using System.Net.Sockets;

namespace Fleet.EndToEnd.Tests.Infrastructure;

/// <summary>
/// Blocks of consecutive loopback ports for the fleet's listeners (LocalFleetOptions takes base ports).
/// Picked below the kernel's ephemeral range (32768+ on Linux), where PostgreSQL's own ports and every
/// outgoing connection get their ports, and never handed out twice in this process, so fleets of
/// parallel test classes cannot collide.
/// </summary>
internal static class FreePorts
{
    private const int Lowest = 20_000;
    private const int Highest = 32_000;
    private static readonly Lock Gate = new();
    private static readonly HashSet<int> HandedOut = [];

    /// <summary>The first of <paramref name="count"/> consecutive ports that are all free now.</summary>
    public static int PickConsecutive(int count)
    {
        for (var attempt = 0; attempt < 500; attempt++)
        {
            var first = Random.Shared.Next(Lowest, Highest - count);
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

        throw new InvalidOperationException($"No {count} consecutive free loopback ports found between {Lowest} and {Highest}.");
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
}
