using System.Text;

namespace Fleet.Agent.Actions;

/// <summary>
/// The command line the server last started with, from <c>postmaster.opts</c> (PostgreSQL rewrites it at every
/// start; <c>pg_rewind</c> and <c>pg_basebackup</c> leave the target's own). A server the agent starts again
/// (rejoin, restart in place) gets the same settings, so what a container or a service unit gave on the command
/// line (<c>archive_mode</c>, <c>wal_log_hints</c>, the port) is not lost when the agent, not that unit, starts it.
/// </summary>
internal static class PostmasterOptions
{
    public const string FileName = "postmaster.opts";

    /// <summary>The arguments in <paramref name="dataDirectory"/>'s postmaster.opts; empty when there is none.</summary>
    public static IReadOnlyList<string> Read(string dataDirectory)
    {
        var path = Path.Combine(dataDirectory, FileName);
        return File.Exists(path) ? Parse(File.ReadAllText(path)) : [];
    }

    /// <summary>
    /// The arguments after the program, without <c>-D</c> and its directory (pg_ctl gives its own). The file holds
    /// the program's path, then each argument in double quotes, separated by one space; quotes inside an argument
    /// are not escaped, so an argument ends at a quote followed by <c> "</c> or by the end of the line.
    /// </summary>
    public static IReadOnlyList<string> Parse(string text)
    {
        var line = text.TrimEnd('\r', '\n');
        var arguments = new List<string>();
        var at = line.IndexOf(" \"", StringComparison.Ordinal);
        while (at >= 0)
        {
            var start = at + 2;
            var next = line.IndexOf("\" \"", start, StringComparison.Ordinal);
            var end = next >= 0 ? next : line.Length - 1;
            if (end < start || line[end] != '"')
            {
                throw new FormatException($"{FileName} is not in PostgreSQL's format: {line}");
            }

            arguments.Add(line[start..end]);
            at = next >= 0 ? next + 1 : -1;
        }

        for (var i = 0; i < arguments.Count; i++)
        {
            if (arguments[i] == "-D")
            {
                arguments.RemoveRange(i, Math.Min(2, arguments.Count - i));
                i--;
            }
            else if (arguments[i].StartsWith("-D", StringComparison.Ordinal))
            {
                arguments.RemoveAt(i);
                i--;
            }
        }

        return arguments;
    }

    /// <summary>
    /// <paramref name="arguments"/> with <paramref name="port"/> as the last word on the port: a <c>-p</c> already there
    /// (from an earlier start by the agent) is dropped, so the line does not grow with each start.
    /// </summary>
    public static IReadOnlyList<string> WithPort(IReadOnlyList<string> arguments, int port)
    {
        var kept = new List<string>(arguments.Count + 2);
        for (var i = 0; i < arguments.Count; i++)
        {
            if (arguments[i] == "-p")
            {
                i++; // and its value
            }
            else if (!arguments[i].StartsWith("-p", StringComparison.Ordinal))
            {
                kept.Add(arguments[i]);
            }
        }

        kept.Add("-p");
        kept.Add(port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return kept;
    }

    /// <summary>The arguments as one string for <c>pg_ctl -o</c>, which hands it to <c>/bin/sh</c>: each single-quoted.</summary>
    public static string ToShell(IEnumerable<string> arguments)
    {
        var text = new StringBuilder();
        foreach (var argument in arguments)
        {
            if (text.Length > 0)
            {
                text.Append(' ');
            }

            text.Append('\'').Append(argument.Replace("'", "'\\''", StringComparison.Ordinal)).Append('\'');
        }

        return text.ToString();
    }
}
