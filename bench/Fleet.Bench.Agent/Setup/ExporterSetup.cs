using System.Diagnostics;

namespace Fleet.Bench.Agent.Setup;

/// <summary>
/// Finds prometheus-postgres-exporter (Debian package); installs it with apt-get when missing and the bench
/// runs as root. The package starts a system service on install where an init system runs: it is stopped
/// right away, so the only exporter measured is the one the bench starts.
/// </summary>
internal static class ExporterSetup
{
    public const string DefaultPath = "/usr/bin/prometheus-postgres-exporter";
    public const string PackageName = "prometheus-postgres-exporter";

    public static async Task<(string Path, string Version)> LocateAsync(string? path, bool install, bool isRoot, Action<string> log, CancellationToken cancellationToken)
    {
        path ??= DefaultPath;
        if (!File.Exists(path) && path == DefaultPath && install)
        {
            if (!isRoot)
            {
                throw new InvalidOperationException($"{path} is missing: run `apt-get install {PackageName}` as root, or pass --exporter PATH");
            }

            log($"{PackageName} missing: apt-get install -y {PackageName}");
            var result = await RunAsync("apt-get", ["install", "-y", "--no-install-recommends", PackageName], TimeSpan.FromMinutes(5), cancellationToken);
            if (result.ExitCode != 0)
            {
                log("apt-get install failed; trying apt-get update first");
                await RunAsync("apt-get", ["update"], TimeSpan.FromMinutes(5), cancellationToken);
                result = await RunAsync("apt-get", ["install", "-y", "--no-install-recommends", PackageName], TimeSpan.FromMinutes(5), cancellationToken);
            }

            if (result.ExitCode != 0)
            {
                throw new InvalidOperationException($"apt-get install {PackageName} failed:{Environment.NewLine}{result.Output}");
            }

            // The package enables and (where an init system runs) starts its service on :9187; stop it.
            _ = await RunAsync("systemctl", ["stop", PackageName], TimeSpan.FromSeconds(30), cancellationToken);
            _ = await RunAsync("service", [PackageName, "stop"], TimeSpan.FromSeconds(30), cancellationToken);
        }

        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path} not found: install the Debian package {PackageName} or pass --exporter PATH");
        }

        var version = await RunAsync(path, ["--version"], TimeSpan.FromSeconds(10), cancellationToken);
        var firstLine = version.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "unknown";
        return (path, firstLine.Trim());
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string fileName, string[] arguments, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        startInfo.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        try
        {
            using var process = Process.Start(startInfo)!;
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(timeout);
            var stdout = process.StandardOutput.ReadToEndAsync(deadline.Token);
            var stderr = process.StandardError.ReadToEndAsync(deadline.Token);
            try
            {
                await process.WaitForExitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw;
            }

            return (process.ExitCode, await stdout + await stderr);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }
    }
}
