using System.Globalization;
using Fleet.Aggregator.Requests;

namespace Fleet.Aggregator.Api;

/// <summary>
/// Query parameters of the JSON API, read strictly: a parameter that is present but not understood is refused
/// with its name and what it accepts (400), never silently dropped into "no filter". Echoed values are cut short.
/// </summary>
internal static class QueryParameters
{
    private const int EchoLimit = 64;

    /// <summary>"FIRING", "firing" or "ALERT_STATE_FIRING"; absent or empty: the default (no filter).</summary>
    public static TEnum Enum<TEnum>(IQueryCollection query, string name, string prefix)
        where TEnum : struct, Enum
    {
        if (!query.TryGetValue(name, out var values) || string.IsNullOrEmpty(values.ToString()))
        {
            return default;
        }

        var value = values.ToString();
        var bare = value.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) ? value[prefix.Length..] : value;
        if (System.Enum.TryParse<TEnum>(bare.Replace("_", string.Empty, StringComparison.Ordinal), ignoreCase: true, out var parsed)
            && System.Enum.IsDefined(parsed) && !parsed.Equals(default(TEnum)) && !bare.Any(char.IsDigit))
        {
            return parsed;
        }

        var accepted = System.Enum.GetNames<TEnum>().Skip(1).Select(n => prefix + Upper(n));
        throw Refuse(name, value, $"one of {string.Join(", ", accepted)}");
    }

    /// <summary>A whole number from <paramref name="min"/> to <paramref name="max"/>; absent: null.</summary>
    public static uint? Number(IQueryCollection query, string name, uint min, uint max)
    {
        if (!query.TryGetValue(name, out var values))
        {
            return null;
        }

        var value = values.ToString();
        return uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) && parsed >= min && parsed <= max
            ? parsed
            : throw Refuse(name, value, $"a whole number from {min} to {max}");
    }

    /// <summary>An ISO 8601 time (UTC when no offset is given); absent: null.</summary>
    public static DateTimeOffset? Time(IQueryCollection query, string name)
    {
        if (!query.TryGetValue(name, out var values))
        {
            return null;
        }

        var value = values.ToString();
        return DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed)
            ? parsed
            : throw Refuse(name, value, "an ISO 8601 time, e.g. 2026-12-07T12:00:00Z");
    }

    private static RequestRefusedException Refuse(string name, string value, string accepted)
    {
        var shown = value.Length > EchoLimit ? value[..EchoLimit] + "…" : value;
        return new RequestRefusedException(RefusalKind.InvalidArgument, $"query parameter '{name}' must be {accepted} (got '{shown}')");
    }

    /// <summary>"FailoverDecision" → "FAILOVER_DECISION".</summary>
    private static string Upper(string pascal) =>
        string.Concat(pascal.Select((c, i) => i > 0 && char.IsUpper(c) ? "_" + c : char.ToUpperInvariant(c).ToString()));
}
