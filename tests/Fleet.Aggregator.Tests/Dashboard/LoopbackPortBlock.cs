using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Fleet.Aggregator.Tests.Dashboard;

/// <summary>
/// Consecutive loopback ports that are free right now (a local fleet gives agent i the base port + i).
/// They are taken below the kernel's ephemeral range, so outgoing connections never land on them;
/// another process can still take one before the fleet binds it, so callers retry start-up.
/// </summary>
internal static class LoopbackPortBlock
{
    public static int PickStart(int count)
    {
        var ephemeralStart = EphemeralRangeStart();
        var low = 10_000;
        var high = ephemeralStart - count > low + 1_000 ? ephemeralStart - count : 65_000 - count;
        for (var attempt = 0; attempt < 500; attempt++)
        {
            var start = Random.Shared.Next(low, high);
            if (AllFree(start, count))
            {
                return start;
            }
        }

        throw new InvalidOperationException($"Found no {count} consecutive free loopback ports between {low} and {high}.");
    }

    private static bool AllFree(int start, int count)
    {
        var listeners = new List<TcpListener>();
        try
        {
            for (var port = start; port < start + count; port++)
            {
                var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                listeners.Add(listener);
            }

            return true;
        }
        catch (SocketException)
        {
            return false;
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Stop();
                listener.Dispose();
            }
        }
    }

    private static int EphemeralRangeStart()
    {
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            return int.Parse(range[0], CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 32_768;
        }
    }
}
