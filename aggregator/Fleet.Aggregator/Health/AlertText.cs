using System.Globalization;
using System.Text;

namespace Fleet.Aggregator.Health;

/// <summary>Formatting shared by alert messages and transition reasons.</summary>
internal static class AlertText
{
    /// <summary>"45s", "2m", "1h30m", "5m12s"; fractions of a second only below one minute.</summary>
    public static string Duration(TimeSpan span)
    {
        if (span < TimeSpan.Zero)
        {
            span = TimeSpan.Zero;
        }

        if (span < TimeSpan.FromMinutes(1))
        {
            return span.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture) + "s";
        }

        var text = new StringBuilder();
        var hours = (long)span.TotalHours;
        if (hours > 0)
        {
            text.Append(hours.ToString(CultureInfo.InvariantCulture)).Append('h');
        }

        if (span.Minutes > 0)
        {
            text.Append(span.Minutes.ToString(CultureInfo.InvariantCulture)).Append('m');
        }

        if (span.Seconds > 0)
        {
            text.Append(span.Seconds.ToString(CultureInfo.InvariantCulture)).Append('s');
        }

        return text.ToString();
    }
}
