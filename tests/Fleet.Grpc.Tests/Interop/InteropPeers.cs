using Fleet.Testing;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Fleet.Grpc.Tests.Interop;

/// <summary>
/// Locates and runs the independent gRPC peers in tests/interop (python3-grpcio from Debian,
/// @grpc/grpc-js from npm). A missing peer fails the test with the command that installs it: these
/// tests are the proof of interoperability and must never skip silently.
/// </summary>
internal static class InteropPeers
{
    public const string Python = "/usr/bin/python3";

    public static string RepoRoot => RepositoryRoot.Path;

    public static string InteropDirectory => Path.Combine(RepoRoot, "tests", "interop");

    public static string PythonClient => Path.Combine(InteropDirectory, "python", "echo_client.py");

    public static string PythonServer => Path.Combine(InteropDirectory, "python", "echo_server.py");

    public static string NodeClient => Path.Combine(InteropDirectory, "node", "echo_client.js");

    /// <summary>The descriptor set the python peers load their message types from.</summary>
    public static string DescriptorSetPath { get; } = WriteDescriptorSet();

    public static void RequirePython()
    {
        var probe = Run(Python, ["-c", "import grpc, google.protobuf"], TimeSpan.FromSeconds(30));
        if (probe.ExitCode != 0)
        {
            throw new InvalidOperationException(
                "python3-grpcio is missing: run scripts/test.sh (or apt-get install python3-grpcio python3-protobuf). " + probe.Stderr);
        }
    }

    public static void RequireNode()
    {
        if (!Directory.Exists(Path.Combine(InteropDirectory, "node", "node_modules", "@grpc", "grpc-js")))
        {
            throw new InvalidOperationException("grpc-js is not installed: run scripts/test.sh (or `npm ci` in tests/interop/node).");
        }
    }

    /// <summary>Runs a client's scenarios; returns each scenario's JSON result by name.</summary>
    public static IReadOnlyDictionary<string, ScenarioResult> RunClient(string fileName, IReadOnlyList<string> arguments)
    {
        var result = Run(fileName, arguments, TimeSpan.FromMinutes(3));
        var results = new Dictionary<string, ScenarioResult>(StringComparer.Ordinal);
        foreach (var line in result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!line.StartsWith('{'))
            {
                continue;
            }

            using var json = JsonDocument.Parse(line);
            var root = json.RootElement;
            var name = root.GetProperty("scenario").GetString()!;
            results[name] = new ScenarioResult(name, root.GetProperty("ok").GetBoolean(), root.GetProperty("detail").ToString());
        }

        if (results.Count == 0)
        {
            throw new InvalidOperationException($"{fileName} {string.Join(' ', arguments)} printed no results (exit {result.ExitCode}): {result.Stderr}");
        }

        return results;
    }

    public static ProcessResult Run(string fileName, IReadOnlyList<string> arguments, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} did not finish within {timeout}.");
        }

        process.WaitForExit();
        return new ProcessResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    private static string WriteDescriptorSet()
    {
        var set = new FileDescriptorSet();
        foreach (var file in new[]
                 {
                     Fleet.Testing.Echo.EchoReflection.Descriptor,
                     global::Grpc.Health.V1.HealthReflection.Descriptor,
                     global::Grpc.Reflection.V1.ReflectionReflection.Descriptor,
                     global::Grpc.Reflection.V1Alpha.ReflectionReflection.Descriptor,
                 })
        {
            set.File.Add(FileDescriptorProto.Parser.ParseFrom(file.SerializedData));
        }

        var path = Path.Combine(Path.GetTempPath(), $"fleet-interop-{Environment.ProcessId}.pb");
        File.WriteAllBytes(path, set.ToByteArray());
        return path;
    }
}

internal sealed record ProcessResult(int ExitCode, string Stdout, string Stderr);

public sealed record ScenarioResult(string Name, bool Ok, string Detail);

/// <summary>A python3-grpcio EchoService server in a child process.</summary>
public sealed class PythonEchoServer : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stderr = new();

    private PythonEchoServer(Process process)
    {
        _process = process;
    }

    public int Port { get; private set; }

    public Uri Address => new($"http://127.0.0.1:{Port}");

    public static async Task<PythonEchoServer> StartAsync(params string[] extraArguments)
    {
        InteropPeers.RequirePython();
        var start = new ProcessStartInfo(InteropPeers.Python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            // stdin stays open: the server stops when it closes, so a crashed test run leaves nothing behind.
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { InteropPeers.PythonServer, "--port", "0", "--descriptor-set", InteropPeers.DescriptorSetPath }.Concat(extraArguments))
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the python server.");
        var server = new PythonEchoServer(process);
        process.ErrorDataReceived += (_, e) =>
        {
            lock (server._stderr)
            {
                server._stderr.AppendLine(e.Data);
            }
        };
        process.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var line = await process.StandardOutput.ReadLineAsync(cts.Token);
        if (line is null || !line.StartsWith("LISTENING ", StringComparison.Ordinal))
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"The python server did not start: '{line}'. {server._stderr}");
        }

        server.Port = int.Parse(line["LISTENING ".Length..], System.Globalization.CultureInfo.InvariantCulture);
        return server;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }

        _process.Dispose();
    }
}
