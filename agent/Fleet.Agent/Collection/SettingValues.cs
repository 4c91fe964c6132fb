using System.Globalization;

namespace Fleet.Agent.Collection;

/// <summary>
/// Converts a pg_settings row (setting text, unit, vartype) to a number in base units: bytes for memory
/// units, seconds for time units, 1/0 for booleans, unitless numbers unchanged. PostgreSQL's units are
/// an optional multiplier followed by a base unit: memory <c>B</c>, <c>kB</c>, <c>MB</c>, <c>GB</c>,
/// <c>TB</c> (powers of 1024; <c>8kB</c> is a page of the default block size, <c>16MB</c> a WAL segment
/// on old servers), time <c>us</c>, <c>ms</c>, <c>s</c>, <c>min</c>, <c>h</c>, <c>d</c>. The value -1, which
/// settings use for "disabled" or "use another setting", is kept as -1, not converted (as
/// postgres_exporter does).
/// </summary>
internal static class SettingValues
{
    public const string Bytes = "bytes";
    public const string Seconds = "seconds";

    /// <summary>
    /// Converts one setting; false when the vartype is not bool, integer or real, the value does not
    /// parse, or the unit is unknown (then the setting is left out rather than exported in a wrong unit).
    /// </summary>
    public static bool TryConvert(string setting, string? unit, string vartype, out double value, out string baseUnit)
    {
        value = 0;
        baseUnit = string.Empty;
        switch (vartype)
        {
            case "bool":
                switch (setting)
                {
                    case "on":
                        value = 1;
                        return true;
                    case "off":
                        value = 0;
                        return true;
                    default:
                        return false;
                }

            case "integer":
            case "real":
                if (!double.TryParse(setting, NumberStyles.Float, CultureInfo.InvariantCulture, out var raw) || !double.IsFinite(raw))
                {
                    return false;
                }

                if (string.IsNullOrEmpty(unit))
                {
                    value = raw;
                    return true;
                }

                if (!TryUnit(unit, out var multiply, out var divide, out baseUnit))
                {
                    return false;
                }

                value = raw == -1 ? -1 : raw * multiply / divide;
                return true;

            default:
                return false;
        }
    }

    /// <summary>
    /// How <paramref name="unit"/> converts to its base unit: value × <paramref name="multiply"/> ÷
    /// <paramref name="divide"/>, e.g. "8kB" → × 8192 bytes, "ms" → ÷ 1000 seconds. Sub-second units divide
    /// rather than multiply by a fraction, so 200 ms is exactly the double nearest 0.2.
    /// </summary>
    public static bool TryUnit(string unit, out double multiply, out double divide, out string baseUnit)
    {
        multiply = 0;
        divide = 1;
        baseUnit = string.Empty;
        var digits = 0;
        while (digits < unit.Length && char.IsAsciiDigit(unit[digits]))
        {
            digits++;
        }

        var count = 1L;
        if (digits > 0 && (digits > 9 || !long.TryParse(unit.AsSpan(0, digits), NumberStyles.None, CultureInfo.InvariantCulture, out count) || count == 0))
        {
            return false;
        }

        (double Multiply, double Divide, string Unit)? basic = unit[digits..] switch
        {
            "B" => (1, 1, Bytes),
            "kB" => (1L << 10, 1, Bytes),
            "MB" => (1L << 20, 1, Bytes),
            "GB" => (1L << 30, 1, Bytes),
            "TB" => (1L << 40, 1, Bytes),
            "us" => (1, 1_000_000, Seconds),
            "ms" => (1, 1_000, Seconds),
            "s" => (1, 1, Seconds),
            "min" => (60, 1, Seconds),
            "h" => (3_600, 1, Seconds),
            "d" => (86_400, 1, Seconds),
            _ => null,
        };
        if (basic is not { } known)
        {
            return false;
        }

        multiply = count * known.Multiply;
        divide = known.Divide;
        baseUnit = known.Unit;
        return true;
    }
}
