using System.Diagnostics;

namespace Fleet.LocalFleet.Postgres;

/// <summary>Runs a short-lived process to completion with a deadline, capturing its output.</summary>
internal static class ChildProcess
{
    /// <summary>
    /// A start-info with all three streams redirected and libpq's PG* variables removed, so a developer's
    /// PGHOST or PGPORT cannot point a tool at some other server.
    /// </summary>
    public static ProcessStartInfo StartInfo(string fileName, IEnumerable<string> arguments, string workingDirectory)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        foreach (var name in startInfo.Environment.Keys.Where(k => k.StartsWith("PG", StringComparison.Ordinal)).ToList())
        {
            startInfo.Environment.Remove(name);
        }

        // English messages: startup code recognises "Address already in use" in server logs.
        startInfo.Environment["LC_ALL"] = "C";
        return startInfo;
    }

    /// <summary>
    /// Runs the process; on timeout or cancellation kills its whole tree so nothing is left behind,
    /// then throws <see cref="TimeoutException"/> or <see cref="OperationCanceledException"/>.
    /// </summary>
    public static async Task<PgToolResult> RunAsync(
        ProcessStartInfo startInfo, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var commandLine = string.Join(' ', [startInfo.FileName, .. startInfo.ArgumentList]);
        using var process = Process.Start(startInfo)
            ?? throw new PostgresClusterException($"Could not start `{commandLine}`.");
        process.StandardInput.Close();

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            var standardOutput = process.StandardOutput.ReadToEndAsync(deadline.Token);
            var standardError = process.StandardError.ReadToEndAsync(deadline.Token);
            await process.WaitForExitAsync(deadline.Token);
            return new PgToolResult(commandLine, process.ExitCode, await standardOutput, await standardError);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            KillTree(process);
            cancellationToken.ThrowIfCancellationRequested();
            throw new TimeoutException($"`{commandLine}` did not finish within {timeout}.");
        }
    }

    private static void KillTree(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited: nothing to clean up.
        }
    }
}
