using Fleet.Testing;
using System.Diagnostics;
using Fleet.Agent.Tests.Configuration;

namespace Fleet.Agent.Tests.Host;

/// <summary>
/// The real fleet-agent executable (<see cref="AgentExecutable"/>: dotnet fleet-agent.dll, or the Native AOT
/// binary in scripts/test.sh's second pass), as a service manager runs it: exit codes and what it prints.
/// </summary>
[Trait(AgentExecutable.TraitName, AgentExecutable.TraitValue)]
public sealed class ExecutableTests
{
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task BadConfigFile_ExitCode2_StderrListsEveryBadKey()
    {
        using var file = TempFile.Json("""
            { "Node": { "Name": "db-1" }, "Postgres": { "Port": 70000 }, "Listen": { "Grpc": "localhost:7400" } }
            """);

        var result = await RunAsync("--config", file.Path);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("fleet-agent: invalid configuration:", result.Stderr, StringComparison.Ordinal);
        foreach (var key in new[] { "Node:Cluster", "Node:Region", "Postgres:Port", "Listen:Grpc" })
        {
            Assert.Contains("  - " + key, result.Stderr, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("Node:Name", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingConfigFile_ExitCode2_NamesThePath()
    {
        var path = Path.Combine(Path.GetTempPath(), "fleet-agent-tests-" + Guid.NewGuid().ToString("N") + ".json");

        var result = await RunAsync("--config", path);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(path, result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MalformedJson_ExitCode2()
    {
        using var file = TempFile.Json("""{ "Node": """);

        var result = await RunAsync("-c", file.Path);

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("fleet-agent: ", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_ExitCode0_PrintsUsage()
    {
        var result = await RunAsync("--help");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("usage: fleet-agent [--config FILE]", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("docs/agent.md", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("FLEET_AGENT_<Section>__<Key>", result.Stdout, StringComparison.Ordinal);
        Assert.Equal("", result.Stderr);
    }

    [Fact]
    public async Task UnknownArgument_ExitCode2()
    {
        var result = await RunAsync("--frobnicate");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("unknown argument '--frobnicate'", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_PostgresRejectsThePassword_LogsTheStateNeverThePassword_StopsCleanlyOnSigterm()
    {
        var secret = "exe-secret-" + Guid.NewGuid().ToString("N");
        // The fake server quotes the password it received back in its error, as a careless proxy might.
        await using var postgres = new FakePostgresServer("08P01", password => $"invalid startup packet near '{password}'");
        using var file = TempFile.Json($$"""
            {
              "Node": { "Name": "exe-test", "Cluster": "agent-tests", "Region": "test-region" },
              "Postgres": { "Host": "127.0.0.1", "Port": {{postgres.Port}}, "User": "fleet", "PasswordEnvironmentVariable": "FLEET_TEST_PGPASSWORD" },
              "Listen": { "Grpc": "127.0.0.1:0", "Http": "127.0.0.1:0" },
              "Logging": { "LogLevel": { "Default": "Debug" } }
            }
            """);
        var info = StartInfo("--config", file.Path);
        info.Environment["FLEET_TEST_PGPASSWORD"] = secret;
        using var process = Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start");
        var stdout = new System.Text.StringBuilder();
        var reported = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, line) =>
        {
            lock (stdout)
            {
                stdout.AppendLine(line.Data);
            }

            if (line.Data?.Contains("PostgreSQL is Unreachable", StringComparison.Ordinal) == true)
            {
                reported.TrySetResult();
            }
        };
        var stderr = process.StandardError.ReadToEndAsync();
        process.BeginOutputReadLine();
        try
        {
            await reported.Task.WaitAsync(ExitTimeout);
            Assert.Contains(secret, postgres.Passwords);

            // SIGTERM, as systemd or the kubelet sends it: the host stops and the process exits 0.
            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync().WaitAsync(ExitTimeout);
            }

            await process.WaitForExitAsync().WaitAsync(ExitTimeout);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        var output = stdout.ToString();
        Assert.Equal(0, process.ExitCode);
        Assert.Contains("invalid startup packet near '***'", output, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, output, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, await stderr.WaitAsync(ExitTimeout), StringComparison.Ordinal);
    }

    internal sealed record Result(int ExitCode, string Stdout, string Stderr);

    internal static ProcessStartInfo StartInfo(params string[] arguments)
    {
        var info = AgentExecutable.StartInfo(arguments);

        // Whatever FLEET_AGENT_* the test run has must not leak into the child.
        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith(AgentHost.EnvironmentPrefix, StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(name);
        }

        return info;
    }

    private static async Task<Result> RunAsync(params string[] arguments)
    {
        using var process = Process.Start(StartInfo(arguments)) ?? throw new InvalidOperationException("dotnet did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(ExitTimeout);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return new Result(process.ExitCode, await stdout.WaitAsync(ExitTimeout), await stderr.WaitAsync(ExitTimeout));
    }
}
