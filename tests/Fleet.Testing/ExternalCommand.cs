using System.Diagnostics;

namespace Fleet.Testing;

/// <summary>Runs a system tool the tests need (ip, iptables, losetup, node, ...) and captures what it printed.</summary>
public static class ExternalCommand
{
    /// <summary>Exit code and stdout + stderr; -1 and "timed out" when it ran past <paramref name="timeout"/> (then it is killed).</summary>
    public static (int ExitCode, string Output) TryRun(string? workingDirectory, TimeSpan timeout, params string[] command)
    {
        ArgumentNullException.ThrowIfNull(command);
        var start = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (workingDirectory is not null)
        {
            start.WorkingDirectory = workingDirectory;
        }

        foreach (var argument in command.Skip(1))
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{command[0]} could not be started");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            return (-1, "timed out");
        }

        return (process.ExitCode, output.GetAwaiter().GetResult() + error.GetAwaiter().GetResult());
    }

    /// <summary><see cref="TryRun(string?, TimeSpan, string[])"/> in the current directory with a 30 s limit.</summary>
    public static (int ExitCode, string Output) TryRun(params string[] command) => TryRun(null, TimeSpan.FromSeconds(30), command);

    /// <summary>Runs it and returns its output; throws with the command line and output when it fails.</summary>
    public static string Run(params string[] command)
    {
        var (exit, output) = TryRun(command);
        return exit == 0 ? output : throw new InvalidOperationException($"'{string.Join(' ', command)}' failed ({exit}): {output.Trim()}");
    }
}
