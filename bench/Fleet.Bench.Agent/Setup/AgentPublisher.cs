using System.Diagnostics;
using System.Text.RegularExpressions;
using Fleet.Bench.Agent.Processes;

namespace Fleet.Bench.Agent.Setup;

/// <summary>A publish and what it printed.</summary>
internal sealed record PublishResult(AgentBinary Binary, string CommandLine, int Warnings, TimeSpan Took, bool Reused);

/// <summary>
/// Publishes fleet-agent in Release, into a build directory of the bench's own (--artifacts-path), so the
/// developers' bin/ and obj/ are not touched and a second run is incremental:
/// <list type="bullet">
/// <item>framework-dependent: <c>dotnet publish agent/Fleet.Agent -c Release</c>, run as <c>dotnet fleet-agent.dll</c>;</item>
/// <item>trimmed self-contained: <c>-r linux-x64 --self-contained -p:PublishTrimmed=true</c>, run as the apphost;</item>
/// <item>Native AOT: <c>-r linux-x64 -p:PublishAot=true</c>, one native executable.</item>
/// </list>
/// A publish that fails (a trim warning is an error here: warnings are errors) stops the bench with its output.
/// </summary>
internal static partial class AgentPublisher
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(10);

    public static Task<PublishResult> FrameworkDependentAsync(string repoRoot, string workRoot, Action<string> log, CancellationToken cancellationToken) =>
        PublishAsync(repoRoot, workRoot, "framework-dependent", [], frameworkDependent: true, log, cancellationToken);

    public static Task<PublishResult> TrimmedAsync(string repoRoot, string workRoot, Action<string> log, CancellationToken cancellationToken) =>
        PublishAsync(
            repoRoot, workRoot, "trimmed", ["-r", "linux-x64", "--self-contained", "-p:PublishTrimmed=true"], frameworkDependent: false, log, cancellationToken);

    public static Task<PublishResult> AotAsync(string repoRoot, string workRoot, Action<string> log, CancellationToken cancellationToken) =>
        PublishAsync(repoRoot, workRoot, "aot", ["-r", "linux-x64", "-p:PublishAot=true"], frameworkDependent: false, log, cancellationToken);

    /// <summary>An already published directory (--agent-dir, --trimmed-dir, --aot-dir), used as is.</summary>
    public static PublishResult Existing(string label, string directory, bool frameworkDependent)
    {
        var path = Path.Combine(directory, frameworkDependent ? "fleet-agent.dll" : "fleet-agent");
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path} not found (--{(frameworkDependent ? "agent" : label)}-dir {directory})");
        }

        return new PublishResult(new AgentBinary(label, path, frameworkDependent, DirectoryBytes(directory)), "(given)", 0, TimeSpan.Zero, Reused: true);
    }

    private static async Task<PublishResult> PublishAsync(
        string repoRoot, string workRoot, string label, string[] extra, bool frameworkDependent, Action<string> log, CancellationToken cancellationToken)
    {
        var output = Path.Combine(workRoot, $"agent-{label}");
        var artifacts = Path.Combine(workRoot, $"build-{label}");
        string[] arguments =
        [
            "publish", Path.Combine(repoRoot, "agent", "Fleet.Agent", "Fleet.Agent.csproj"), "-c", "Release", .. extra,
            "-o", output, "--artifacts-path", artifacts, "--nologo",
        ];
        var commandLine = "dotnet " + string.Join(' ', arguments);
        log($"publishing fleet-agent ({label}): {commandLine}");
        var stopwatch = Stopwatch.StartNew();
        var startInfo = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = repoRoot,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        startInfo.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        startInfo.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException("could not start dotnet publish");
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(Timeout);
        string stdout;
        string stderr;
        try
        {
            var outTask = process.StandardOutput.ReadToEndAsync(deadline.Token);
            var errTask = process.StandardError.ReadToEndAsync(deadline.Token);
            await process.WaitForExitAsync(deadline.Token);
            stdout = await outTask;
            stderr = await errTask;
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        var problems = (stdout + "\n" + stderr).Split('\n')
            .Where(line => WarningOrError().IsMatch(line))
            .Distinct(StringComparer.Ordinal)
            .ToList();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"`{commandLine}` failed ({process.ExitCode}):{Environment.NewLine}{string.Join(Environment.NewLine, problems.Count > 0 ? problems : [stdout, stderr])}");
        }

        var path = Path.Combine(output, frameworkDependent ? "fleet-agent.dll" : "fleet-agent");
        var warnings = problems.Count(line => line.Contains("warning", StringComparison.Ordinal));
        log($"published {label} in {stopwatch.Elapsed.TotalSeconds:F0} s, {warnings} warning(s), {DirectoryBytes(output) / 1048576.0:F1} MB");
        return new PublishResult(new AgentBinary(label, path, frameworkDependent, DirectoryBytes(output)), commandLine, warnings, stopwatch.Elapsed, Reused: false);
    }

    /// <summary>What a deployment ships: the publish without debug symbols (.pdb, the AOT binary's .dbg) and XML docs.</summary>
    private static long DirectoryBytes(string directory) =>
        new DirectoryInfo(directory).EnumerateFiles("*", SearchOption.AllDirectories)
            .Where(f => f.Extension is not (".pdb" or ".dbg" or ".xml"))
            .Sum(f => f.Length);

    [GeneratedRegex(@"\b(warning|error) [A-Z]+[0-9]+")]
    private static partial Regex WarningOrError();
}
