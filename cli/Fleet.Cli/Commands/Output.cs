using System.Globalization;
using System.Text;
using Google.Protobuf;

namespace Fleet.Cli.Commands;

/// <summary>Plain aligned tables for people, protobuf JSON (the grpcurl shape) for scripts.</summary>
internal static class Output
{
    private static readonly JsonFormatter Json = new(JsonFormatter.Settings.Default.WithIndentation());

    public static void WriteJson(TextWriter writer, IMessage message) => writer.WriteLine(Json.Format(message));

    public static void WriteTable(TextWriter writer, IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows)
    {
        var all = new List<IReadOnlyList<string>> { headers };
        all.AddRange(rows);
        var widths = headers.Select((_, i) => all.Max(r => i < r.Count ? r[i].Length : 0)).ToArray();
        foreach (var row in all)
        {
            var line = new StringBuilder();
            for (var i = 0; i < headers.Count; i++)
            {
                var cell = i < row.Count ? row[i] : string.Empty;
                line.Append(i == headers.Count - 1 ? cell : cell.PadRight(widths[i] + 2));
            }

            writer.WriteLine(line.ToString().TrimEnd());
        }
    }

    public static string Bytes(ulong? bytes) => bytes switch
    {
        null => "-",
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:F1} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1048576.0:F1} MiB"),
    };

    public static string Seconds(double? seconds) => seconds is null ? "-" : string.Create(CultureInfo.InvariantCulture, $"{seconds:F1}s");

    /// <summary>An enum value as a lower-case word ("Primary" → "primary", "InTransaction" → "in-transaction").</summary>
    public static string Word<T>(T value)
        where T : struct, System.Enum
    {
        var name = value.ToString();
        var sb = new StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            if (i > 0 && char.IsUpper(name[i]))
            {
                sb.Append('-');
            }

            sb.Append(char.ToLowerInvariant(name[i]));
        }

        return sb.ToString();
    }
}
