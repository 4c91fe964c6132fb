using System.Text;

namespace Fleet.LocalFleet.Postgres;

/// <summary>Reads server log files that the server may still be appending to.</summary>
internal static class LogFile
{
    // Enough for any useful tail; a chatty server must not make failure messages huge.
    private const int MaxBytes = 256 * 1024;

    public static long Length(string path) => File.Exists(path) ? new FileInfo(path).Length : 0;

    /// <summary>The last <paramref name="lineCount"/> lines written after <paramref name="fromOffset"/>, or "" if none.</summary>
    public static string ReadTail(string path, int lineCount, long fromOffset = 0)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var start = Math.Max(fromOffset, stream.Length - MaxBytes);
            stream.Seek(Math.Min(start, stream.Length), SeekOrigin.Begin);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            var lines = reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            return string.Join('\n', lines.TakeLast(lineCount));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return "";
        }
    }

    /// <summary>"--- name (path) ---" followed by the tail, for exception messages.</summary>
    public static string Section(string name, string path, int lineCount = 40)
    {
        var tail = ReadTail(path, lineCount);
        return $"--- {name} log ({path}), last {lineCount} lines ---{Environment.NewLine}" +
            (tail.Length == 0 ? "(empty or missing)" : tail);
    }
}
