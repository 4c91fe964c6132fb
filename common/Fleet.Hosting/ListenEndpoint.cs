using System.Net;

namespace Fleet.Hosting;

/// <summary>Parses listener addresses written as "ip:port" or "[ipv6]:port" in configuration.</summary>
public static class ListenEndpoint
{
    public static bool TryParse(string? value, out IPEndPoint endPoint)
    {
        endPoint = null!;
        if (string.IsNullOrWhiteSpace(value) || !IPEndPoint.TryParse(value, out var parsed) || parsed.Port == 0 && !value.EndsWith(":0", StringComparison.Ordinal))
        {
            return false;
        }

        endPoint = parsed;
        return true;
    }

    public static IPEndPoint Parse(string value, string key) =>
        TryParse(value, out var endPoint) ? endPoint : throw new FormatException($"{key} '{value}' is not ip:port.");
}
