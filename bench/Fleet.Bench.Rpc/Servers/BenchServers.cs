using System.Diagnostics;
using Fleet.Bench.Rpc.Reporting;

namespace Fleet.Bench.Rpc.Servers;

/// <summary>Starts the servers named on the command line.</summary>
internal static class BenchServers
{
    public static async Task<IBenchServer> StartAsync(string name, BenchOptions options, CancellationToken cancellationToken) => name switch
    {
        BenchOptions.FleetProcess => await StartFleetChildAsync(cancellationToken),
        BenchOptions.FleetInProcess => await InProcessFleetServer.StartAsync(),
        BenchOptions.Python => await StartPythonAsync(options, cancellationToken),
        _ => throw new ArgumentException($"Unknown server '{name}'.", nameof(name)),
    };

    /// <summary>This executable with `serve`: same build and runtime settings (environment inherited).</summary>
    private static Task<ChildProcessServer> StartFleetChildAsync(CancellationToken cancellationToken)
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("Cannot tell this executable's path.");
        var startInfo = new ProcessStartInfo(self);
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            // Started as `dotnet Fleet.Bench.Rpc.dll`.
            startInfo.ArgumentList.Add(typeof(BenchServers).Assembly.Location);
        }

        startInfo.ArgumentList.Add("serve");
        return ChildProcessServer.StartAsync(
            BenchOptions.FleetProcess,
            $"{GrpcStack.Server} EchoServiceImpl on Kestrel with Fleet's wiring (AddFleetGrpc, ListenGrpc) in a child process (this executable with the serve argument), same runtime settings as the client",
            startInfo,
            answersJit: true,
            cleanup: null,
            cancellationToken);
    }

    private static async Task<ChildProcessServer> StartPythonAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        var repo = options.RepoRoot ?? FindRepoRoot() ?? throw new InvalidOperationException("Cannot find the repository root (Fleet.sln) from the working directory; pass --repo DIR.");
        var script = Path.Combine(repo, "tests", "interop", "python", "echo_server.py");
        if (!File.Exists(script))
        {
            throw new InvalidOperationException($"{script} does not exist.");
        }

        var version = await PythonGrpcVersionAsync(options.PythonPath, cancellationToken);
        var descriptorSet = DescriptorSetFile.Write();
        var startInfo = new ProcessStartInfo(options.PythonPath) { WorkingDirectory = repo };
        foreach (var arg in new[] { script, "--port", "0", "--descriptor-set", descriptorSet })
        {
            startInfo.ArgumentList.Add(arg);
        }

        return await ChildProcessServer.StartAsync(
            BenchOptions.Python,
            $"python3-grpcio {version} sync server (tests/interop/python/echo_server.py, default 32 handler threads)",
            startInfo,
            answersJit: false,
            cleanup: () => File.Delete(descriptorSet),
            cancellationToken);
    }

    private static async Task<string> PythonGrpcVersionAsync(string python, CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "-c", "import grpc; print(grpc.__version__)" })
        {
            startInfo.ArgumentList.Add(arg);
        }

        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"Could not start {python}.");
        var output = await process.StandardOutput.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken).WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        return process.ExitCode == 0 ? output.Trim() : "(version unknown: grpc import failed)";
    }

    private static string? FindRepoRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            // Bounded walk up to the file system root.
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Fleet.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        return null;
    }
}
