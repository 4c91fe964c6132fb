using System.Globalization;

namespace Fleet.Agent.Archive.Wal;

/// <summary>WAL positions (XLogRecPtr) in PostgreSQL's textual form "X/Y" (hex), as pg_lsn prints them.</summary>
internal static class Lsn
{
    public static string Format(ulong lsn) =>
        string.Create(CultureInfo.InvariantCulture, $"{lsn >> 32:X}/{(uint)lsn:X}");

    /// <summary>Parses "X/Y" with up to eight hex digits on each side.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out ulong lsn)
    {
        lsn = 0;
        text = text.Trim();
        var slash = text.IndexOf('/');
        if (slash is < 1 or > 8 || text.Length - slash - 1 is < 1 or > 8)
        {
            return false;
        }

        if (!uint.TryParse(text[..slash], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var high) ||
            !uint.TryParse(text[(slash + 1)..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var low))
        {
            return false;
        }

        lsn = ((ulong)high << 32) | low;
        return true;
    }
}
