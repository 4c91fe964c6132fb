using System.Net.Sockets;

namespace Fleet.Testing;

/// <summary>
/// A port picked free can be taken by another process before a server binds it (FreeTcpPort says so): fleets
/// started by tests retry on other ports when the start failed for exactly that reason.
/// </summary>
public static class PortConflicts
{
    public const int MaxStartAttempts = 3;

    /// <summary>True when <paramref name="exception"/> or one it wraps says an address was already in use.</summary>
    public static bool IsAddressInUse(Exception? exception)
    {
        for (; exception is not null; exception = exception.InnerException)
        {
            // Kestrel's AddressInUseException wraps the SocketException; LocalFleet's own check throws InvalidOperationException.
            if (exception is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse }
                || (exception is InvalidOperationException && exception.Message.Contains("already in use", StringComparison.Ordinal)))
            {
                return true;
            }
        }

        return false;
    }
}
