using System.Diagnostics;
using Xunit;

namespace Fleet.Testing;

/// <summary>
/// Runs the real <c>promtool check metrics</c> (Debian package "prometheus") on an exposition. A missing
/// promtool fails the test rather than skipping it: the exposition must be checked by Prometheus' own parser.
/// </summary>
public static class Promtool
{
    /// <summary>
    /// promtool lint lines accepted on purpose. None today: every family has HELP, counters end in _total, units
    /// are base units (seconds, bytes, ratios), and no gauge ends in _total or _count. An entry must say why.
    /// </summary>
    private static readonly string[] AcceptedLintLines = [];

    /// <summary><c>promtool check metrics</c> on the exposition: exit code 0 and no output (lint findings are output).</summary>
    public static void AssertValid(string exposition)
    {
        var (exitCode, output) = Run(["check", "metrics"], exposition);
        var problems = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(line => !AcceptedLintLines.Contains(line, StringComparer.Ordinal))
            .ToList();
        Assert.True(
            exitCode == 0 && problems.Count == 0,
            $"promtool check metrics exited {exitCode}:\n{string.Join('\n', problems)}\n--- exposition ---\n{exposition}");
    }

    /// <summary><c>promtool check rules</c> on a rules file's text: it parses, and every PromQL expression compiles.</summary>
    public static void AssertRulesValid(string rulesYaml)
    {
        var file = Path.Combine(Path.GetTempPath(), $"fleet-rules-{Guid.NewGuid():N}.yml");
        File.WriteAllText(file, rulesYaml);
        try
        {
            var (exitCode, output) = Run(["check", "rules", file], string.Empty);
            Assert.True(exitCode == 0 && output.Contains("SUCCESS", StringComparison.Ordinal), $"promtool check rules exited {exitCode}:\n{output}\n--- rules ---\n{rulesYaml}");
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary><c>promtool test rules</c> on a test file (it names its rule files relative to itself): every test passes.</summary>
    public static void AssertRuleTestsPass(string testFile)
    {
        var (exitCode, output) = Run(["test", "rules", testFile], string.Empty);
        Assert.True(exitCode == 0 && output.Contains("SUCCESS", StringComparison.Ordinal), $"promtool test rules {testFile} exited {exitCode}:\n{output}");
    }

    private static (int ExitCode, string Output) Run(string[] arguments, string input)
    {
        var path = Find();
        if (path is null)
        {
            Assert.Fail("promtool was not found (looked at $FLEET_PROMTOOL, /usr/bin/promtool and PATH). It comes with the Debian package 'prometheus'; run scripts/test.sh, which installs it.");
        }

        var start = new ProcessStartInfo(path, arguments)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {path}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write(input);
        process.StandardInput.Close();
        if (!process.WaitForExit(TimeSpan.FromSeconds(30)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"promtool {string.Join(' ', arguments)} did not finish within 30 s");
        }

        return (process.ExitCode, stdout.GetAwaiter().GetResult() + stderr.GetAwaiter().GetResult());
    }

    private static string? Find()
    {
        var configured = Environment.GetEnvironmentVariable("FLEET_PROMTOOL");
        if (!string.IsNullOrEmpty(configured))
        {
            return File.Exists(configured) ? configured : null;
        }

        if (File.Exists("/usr/bin/promtool"))
        {
            return "/usr/bin/promtool";
        }

        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, "promtool");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
