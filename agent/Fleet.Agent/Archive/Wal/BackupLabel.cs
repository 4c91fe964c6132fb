using System.Globalization;

namespace Fleet.Agent.Archive.Wal;

/// <summary>
/// A backup history file (<c>&lt;segment&gt;.OOOOOOOO.backup</c>, written by pg_backup_stop into the archive)
/// or a base backup's <c>backup_label</c>: "KEY: value" lines such as START WAL LOCATION, STOP WAL
/// LOCATION, START TIMELINE, START TIME, STOP TIME, LABEL.
/// </summary>
internal sealed record BackupLabel(
    ulong StartLsn, uint StartTimeline, ulong? StopLsn, string Label, DateTimeOffset? StartTime, DateTimeOffset? StopTime)
{
    public static bool TryParse(string content, out BackupLabel? label, out string? error)
    {
        label = null;
        error = null;
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var rawLine in content.Split('\n'))
        {
            var line = rawLine.TrimEnd('\r');
            var colon = line.IndexOf(": ", StringComparison.Ordinal);
            if (colon > 0)
            {
                values.TryAdd(line[..colon].Trim(), line[(colon + 2)..].Trim());
            }
        }

        if (!values.TryGetValue("START WAL LOCATION", out var start) || !Lsn.TryParse(FirstWord(start), out var startLsn))
        {
            error = "no valid START WAL LOCATION";
            return false;
        }

        ulong? stopLsn = values.TryGetValue("STOP WAL LOCATION", out var stop) && Lsn.TryParse(FirstWord(stop), out var parsedStop) ? parsedStop : null;
        uint timeline = values.TryGetValue("START TIMELINE", out var tli) && uint.TryParse(tli, NumberStyles.None, CultureInfo.InvariantCulture, out var parsedTli)
            ? parsedTli
            : 0;
        label = new BackupLabel(
            startLsn,
            timeline,
            stopLsn,
            values.GetValueOrDefault("LABEL", string.Empty),
            values.TryGetValue("START TIME", out var startTime) ? ParseTime(startTime) : null,
            values.TryGetValue("STOP TIME", out var stopTime) ? ParseTime(stopTime) : null);
        return true;
    }

    /// <summary>
    /// "2024-05-01 12:00:00 UTC" (strftime "%Y-%m-%d %H:%M:%S %Z" in the server's log_timezone). Zone
    /// abbreviations other than UTC/GMT or a numeric offset are ambiguous, so those times are not trusted
    /// (null); callers then fall back to the file's modification time.
    /// </summary>
    internal static DateTimeOffset? ParseTime(string text)
    {
        var parts = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2 ||
            !DateTime.TryParseExact(parts[0] + " " + parts[1], "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.None, out var local))
        {
            return null;
        }

        var zone = parts.Length > 2 ? parts[2] : "UTC";
        if (zone is "UTC" or "GMT" or "Z" or "UCT")
        {
            return new DateTimeOffset(local, TimeSpan.Zero);
        }

        if ((zone[0] == '+' || zone[0] == '-') && TryParseOffset(zone, out var offset))
        {
            return new DateTimeOffset(local, offset);
        }

        return null;
    }

    private static bool TryParseOffset(string zone, out TimeSpan offset)
    {
        offset = default;
        var sign = zone[0] == '-' ? -1 : 1;
        var digits = zone[1..].Replace(":", string.Empty, StringComparison.Ordinal);
        if (digits.Length is not (2 or 4) || !int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            return false;
        }

        var hours = digits.Length == 2 ? value : value / 100;
        var minutes = digits.Length == 2 ? 0 : value % 100;
        if (hours > 14 || minutes > 59)
        {
            return false;
        }

        offset = sign * new TimeSpan(hours, minutes, 0);
        return true;
    }

    private static string FirstWord(string value)
    {
        var space = value.IndexOf(' ', StringComparison.Ordinal);
        return space < 0 ? value : value[..space];
    }
}
