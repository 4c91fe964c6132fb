using System.Globalization;
using Fleet.Agent.Collection;
using Fleet.Agent.Configuration;
using Fleet.Hosting;
using Fleet.Protos.V1;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Fleet.Agent.Archive.Hosting;

/// <summary>
/// <c>fleet-agent verify-archive [--config FILE] [--deep] [--json]</c>: one verification for cron and scripts,
/// with the agent's configuration (file, then FLEET_AGENT_* environment variables). Exit codes: 0 OK,
/// 1 WARNING, 2 FAILURE, 3 usage or configuration error.
/// </summary>
internal static class VerifyArchiveCommand
{
    public const string Name = "verify-archive";
    public const int ExitOk = 0;
    public const int ExitWarning = 1;
    public const int ExitFailure = 2;
    public const int ExitUsage = 3;

    private const string Usage = """
        usage: fleet-agent verify-archive [--config FILE] [--deep] [--json]

        Verifies the WAL archive (Archive:Location) once against the local PostgreSQL and prints the result.
          --config FILE  the agent's JSON configuration (FLEET_AGENT_<Section>__<Key> variables override it)
          --deep         also check every WAL record's CRC-32C (reads all retained WAL)
          --json         print the ArchiveStatus as JSON (proto3 JSON mapping) instead of text
        Exit code: 0 OK, 1 WARNING, 2 FAILURE, 3 usage or configuration error.
        See docs/archive-verification.md.
        """;

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, IReadOnlyDictionary<string, string?>? overrides = null)
    {
        string? configFile = null;
        bool deep = false, json = false;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--config" or "-c" when i + 1 < args.Length:
                    configFile = args[++i];
                    break;
                case "--deep":
                    deep = true;
                    break;
                case "--json":
                    json = true;
                    break;
                case "--help" or "-h":
                    await output.WriteLineAsync(Usage);
                    return ExitOk;
                default:
                    await error.WriteLineAsync($"fleet-agent verify-archive: unknown argument '{args[i]}' (try --help)");
                    return ExitUsage;
            }
        }

        AgentOptions agent;
        ArchiveVerificationOptions options;
        try
        {
            var configuration = new ConfigurationManager();
            HostConfiguration.Load(configuration, configFile, AgentHost.EnvironmentPrefix, overrides);
            agent = new AgentOptions();
            configuration.Bind(agent);
            options = new ArchiveVerificationOptions();
            configuration.GetSection("Archive").Bind(options);
            var errors = new List<string>();
            if (string.IsNullOrWhiteSpace(agent.Archive.Location))
            {
                errors.Add("Archive:Location is required: there is no archive to verify.");
            }

            if (string.IsNullOrWhiteSpace(agent.Node.Region))
            {
                errors.Add("Node:Region is required (the archive's region is checked against it).");
            }

            var validation = new ArchiveVerificationOptionsValidator(agent.Archive).Validate(null, options);
            if (validation.Failed)
            {
                errors.AddRange(validation.Failures);
            }

            if (errors.Count > 0)
            {
                throw new OptionsValidationException(nameof(ArchiveVerificationOptions), typeof(ArchiveVerificationOptions), errors);
            }
        }
        catch (OptionsValidationException e)
        {
            await error.WriteLineAsync("fleet-agent verify-archive: invalid configuration:");
            foreach (var failure in e.Failures)
            {
                await error.WriteLineAsync("  - " + failure);
            }

            return ExitUsage;
        }
        catch (Exception e) when (e is FileNotFoundException or InvalidDataException or FormatException or System.Text.Json.JsonException or InvalidOperationException)
        {
            await error.WriteLineAsync($"fleet-agent verify-archive: {e.Message}");
            return ExitUsage;
        }

        await using var connections = new PostgresConnectionFactory(agent.Postgres);
        var probe = new NodeViewProbe(connections, agent.Postgres);
        var service = new ArchiveVerificationService(
            agent, options, probe.ProbeAsync, new ArchiveStatusBoard(), TimeProvider.System, NullLogger.Instance, waitForBackupChecks: true);
        using var interrupt = new CancellationTokenSource();
        ConsoleCancelEventHandler cancel = (_, e) =>
        {
            e.Cancel = true;
            interrupt.Cancel();
        };
        Console.CancelKeyPress += cancel;
        try
        {
            var status = await service.VerifyAsync(deep, progress: null, interrupt.Token);
            await output.WriteLineAsync(json ? JsonFormatter.Default.Format(status) : Render(status));
            return status.Verdict switch
            {
                ArchiveVerdict.Ok => ExitOk,
                ArchiveVerdict.Warning => ExitWarning,
                _ => ExitFailure,
            };
        }
        catch (OperationCanceledException) when (interrupt.IsCancellationRequested)
        {
            await error.WriteLineAsync("fleet-agent verify-archive: interrupted");
            return ExitUsage;
        }
        finally
        {
            Console.CancelKeyPress -= cancel;
        }
    }

    /// <summary>The human-readable report.</summary>
    internal static string Render(ArchiveStatus status)
    {
        var text = new System.Text.StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        text.Append(inv, $"WAL archive {status.ArchiveLocation}: {Verdict(status.Verdict)}\n");
        if (status.FirstProblem is { } first)
        {
            text.Append(inv, $"  first problem:  {first.Code}: {first.Message}\n");
        }

        text.Append(inv, $"  last archived:  {(status.LastArchivedSegment.Length > 0 ? status.LastArchivedSegment : "(none)")}");
        if (status.HasRpoExposureSeconds)
        {
            text.Append(inv, $", {status.RpoExposureSeconds:0} s ago");
        }

        text.Append(inv, $"; lag {status.ArchiveLagSegments} segment(s), {status.ArchiveLagBytes} bytes\n");
        if (status.NewestBaseBackup is { } newest)
        {
            text.Append(inv, $"  newest backup:  {newest.Name}, finished {newest.FinishedAt.ToDateTimeOffset():u} ({status.NewestBaseBackupAgeSeconds / 3600:0.0} h ago), starts in {newest.StartSegment}\n");
        }

        if (status.OldestBaseBackup is { } oldest)
        {
            text.Append(inv, $"  oldest backup:  {oldest.Name}, starts in {oldest.StartSegment}\n");
        }

        text.Append(inv, $"  checked:        {status.SegmentsVerified} segment(s){(status.Deep ? ", every record's CRC-32C" : ", page headers")} in {status.DurationSeconds:0.000} s; archive region '{status.ArchiveRegion}'\n");
        if (status.Findings.Count > 0)
        {
            text.Append("findings:\n");
            foreach (var finding in status.Findings)
            {
                var severity = finding.Severity switch
                {
                    Severity.Critical => "CRITICAL",
                    Severity.Warning => "WARNING ",
                    _ => "INFO    ",
                };
                text.Append(inv, $"  {severity} {finding.Code}: {finding.Message}\n");
            }
        }

        return text.ToString().TrimEnd('\n');
    }

    private static string Verdict(ArchiveVerdict verdict) => verdict switch
    {
        ArchiveVerdict.Ok => "OK",
        ArchiveVerdict.Warning => "WARNING",
        ArchiveVerdict.Failure => "FAILURE",
        _ => "UNKNOWN",
    };
}
