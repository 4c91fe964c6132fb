using System.Diagnostics;
using Fleet.Agent.Archive.Hosting;
using Fleet.Agent.Configuration;
using Microsoft.Extensions.Options;

namespace Fleet.Agent.Actions;

/// <summary>
/// Runs PostgreSQL's server tools (pg_ctl, pg_rewind) from Postgres:BinDirectory, else from PATH (the agent image puts
/// its PostgreSQL major's binaries there). When the agent runs as
/// root (local development), the tools run as the owner of the data directory, because PostgreSQL
/// refuses to run as root.
/// </summary>
internal sealed class PgToolRunner(IOptions<AgentOptions> options)
{
    public async Task<(int ExitCode, string Output)> RunAsync(string tool, IReadOnlyList<string> arguments, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var postgres = options.Value.Postgres;
        var path = ToolRunner.Locate(tool, postgres.BinDirectory) ?? throw new InvalidOperationException(postgres.BinDirectory is { Length: > 0 } bin
            ? $"{tool} was not found in Postgres:BinDirectory ({bin})."
            : $"{tool} was not found on PATH: set Postgres:BinDirectory to the server's binaries.");
        var start = new ProcessStartInfo();
        var owner = Environment.UserName == "root" && postgres.DataDirectory is not null ? OwnerOf(postgres.DataDirectory) : null;
        if (owner is not null && owner != "root")
        {
            start.FileName = "runuser";
            start.ArgumentList.Add("-u");
            start.ArgumentList.Add(owner);
            start.ArgumentList.Add("--");
            start.ArgumentList.Add(path);
        }
        else
        {
            start.FileName = path;
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // Tools must not follow a developer's PGHOST/PGPORT to another server.
        foreach (var variable in new[] { "PGHOST", "PGPORT", "PGDATA", "PGUSER", "PGDATABASE", "PGSERVICE" })
        {
            start.Environment.Remove(variable);
        }

        var result = await Archive.Hosting.ToolRunner.RunAsync(start, tool, timeout, cancellationToken);
        return (result.ExitCode, (result.StandardOutput + result.StandardError).Trim());
    }

    private static string? OwnerOf(string directory)
    {
        return Directory.Exists(directory) ? new DirectoryInfo(directory).UnixOwner() : null;
    }
}

internal static class UnixOwnership
{
    /// <summary>The user name owning a file, via stat(1) — .NET exposes the mode but not the owner.</summary>
    public static string? UnixOwner(this FileSystemInfo info)
    {
        var start = new ProcessStartInfo("stat") { RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("%U");
        start.ArgumentList.Add(info.FullName);
        using var process = Process.Start(start);
        if (process is null)
        {
            return null;
        }

        var owner = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        return process.ExitCode == 0 && owner.Length > 0 ? owner : null;
    }
}
