using System.Diagnostics;

namespace Fleet.Agent.Archive.Hosting;

/// <summary>How an external tool (pg_controldata, pg_verifybackup) ended.</summary>
internal sealed record ToolResult(int ExitCode, string StandardOutput, string StandardError)
{
    public bool Succeeded => ExitCode == 0;
}

/// <summary>Runs a PostgreSQL client tool with a time limit; the tool is killed (with its children) when it passes.</summary>
internal static class ToolRunner
{
    /// <summary>The tool's path: in <paramref name="binDirectory"/> when configured, else found on PATH.</summary>
    public static string? Locate(string tool, string? binDirectory)
    {
        if (binDirectory is { Length: > 0 })
        {
            var configured = Path.Combine(binDirectory, tool);
            return File.Exists(configured) ? configured : null;
        }

        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, tool);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    public static async Task<ToolResult> RunAsync(string path, IEnumerable<string> arguments, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // Tools print messages for people; keep them untranslated so they can be matched and logged.
        start.Environment["LC_ALL"] = "C";
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {path}");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }

            cancellationToken.ThrowIfCancellationRequested();
            throw new TimeoutException($"{Path.GetFileName(path)} did not finish within {timeout}");
        }

        return new ToolResult(process.ExitCode, await stdout, await stderr);
    }
}
