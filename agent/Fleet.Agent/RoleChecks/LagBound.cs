using System.Globalization;

namespace Fleet.Agent.RoleChecks;

/// <summary>
/// The <c>?lag=</c> bound of <c>/replica</c>: a whole number of bytes, optionally with a PostgreSQL-style
/// unit (B, kB, MB, GB, TB; powers of 1024; case-insensitive), as Patroni accepts (e.g. <c>lag=16MB</c>).
/// </summary>
public static class LagBound
{
    private static readonly (string Unit, ulong Bytes)[] Units = [("TB", 1UL << 40), ("GB", 1UL << 30), ("MB", 1UL << 20), ("kB", 1UL << 10), ("B", 1)];

    public static bool TryParse(string? text, out ulong bytes)
    {
        bytes = 0;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        var multiplier = 1UL;
        var digits = text.AsSpan();
        foreach (var (unit, size) in Units)
        {
            if (digits.EndsWith(unit, StringComparison.OrdinalIgnoreCase))
            {
                multiplier = size;
                digits = digits[..^unit.Length].TrimEnd(' ');
                break;
            }
        }

        if (!ulong.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value > ulong.MaxValue / multiplier)
        {
            return false;
        }

        bytes = value * multiplier;
        return true;
    }
}
