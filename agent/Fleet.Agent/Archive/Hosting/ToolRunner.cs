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

    public static Task<ToolResult> RunAsync(string path, IEnumerable<string> arguments, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(path) { RedirectStandardInput = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // Tools print messages for people; keep them untranslated so they can be matched and logged.
        start.Environment["LC_ALL"] = "C";
        return RunAsync(start, Path.GetFileName(path), timeout, cancellationToken);
    }

    /// <summary>
    /// Runs a prepared command (its output is captured here), named <paramref name="name"/> in errors. Past
    /// <paramref name="timeout"/> it is killed with its children and a <see cref="TimeoutException"/> thrown;
    /// when <paramref name="cancellationToken"/> is cancelled it is killed and the cancellation rethrown.
    /// </summary>
    public static async Task<ToolResult> RunAsync(ProcessStartInfo start, string name, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(start);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {name}");
        if (start.RedirectStandardInput)
        {
            process.StandardInput.Close();
        }

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
            throw new TimeoutException($"{name} did not finish within {timeout.TotalSeconds:F0} s");
        }

        return new ToolResult(process.ExitCode, await stdout, await stderr);
    }
}
