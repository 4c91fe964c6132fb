using Fleet.Testing;
using Fleet.Hosting.Grpc;
using System.Diagnostics;
using System.Globalization;
using Fleet.Agent.Archive.Hosting;
using Fleet.Agent.Archive.Verification;
using Fleet.Agent.Collection;
using Fleet.Agent.Configuration;
using Fleet.Protos.V1;
using Grpc.Core;
using Fleet.LocalFleet.Postgres;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Fleet.Agent.Tests.Archive;

/// <summary>
/// The verification as the agent runs it against live servers: the node view taken over SQL, a failing
/// archive_command seen in pg_stat_archiver, AgentService.VerifyArchive streaming progress, /metrics, and
/// the verify-archive command line with its exit codes.
/// </summary>
[Collection(ArchiveClusterGroup.Name)]
public sealed class LiveNodeTests(ArchiveClusterFixture fixture)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task ArchiveCommandFailing_FailedCountGrows_CriticalFindingNamingTheSegment()
    {
        var node = fixture.B.Primary;
        await ExecuteAsync(node, "ALTER SYSTEM SET archive_command = 'false'");
        await ExecuteAsync(node, "SELECT pg_reload_conf()");
        try
        {
            // The reload reaches the archiver asynchronously: switch until a switched segment fails.
            string failed = string.Empty;
            await Polling.UntilAsync(
                async ct =>
                {
                    failed = await fixture.B.SwitchWalAsync(ct);
                    await Task.Delay(300, ct);
                    return await ScalarAsync<string?>(node, "SELECT last_failed_wal FROM pg_stat_archiver") == failed;
                },
                Timeout,
                "pg_stat_archiver to report a failure of the switched segment");

            var options = AgentOptionsFor(fixture.B.ArchiveDirectory, node);
            var board = new ArchiveStatusBoard();
            await using var connections = new PostgresConnectionFactory(options.Postgres);
            var service = new ArchiveVerificationService(
                options, new ArchiveVerificationOptions(), new NodeViewProbe(connections, options.Postgres).ProbeAsync, board, TimeProvider.System,
                NullLogger.Instance, waitForBackupChecks: true);

            var status = await service.VerifyAsync(deep: false, progress: null, CancellationToken.None).WaitAsync(Timeout);

            Assert.Equal(ArchiveVerdict.Failure, status.Verdict);
            Assert.Equal(FindingCodes.ArchiveCommandFailing, status.FirstProblem.Code);
            Assert.Equal(failed, status.FirstProblem.Subject);
            Assert.Equal(Severity.Critical, status.FirstProblem.Severity);
            Assert.Contains($"archiving {failed} failed", status.FirstProblem.Message, StringComparison.Ordinal);
            Assert.Same(status, board.Current);
        }
        finally
        {
            await ExecuteAsync(node, "ALTER SYSTEM RESET archive_command");
            await ExecuteAsync(node, "SELECT pg_reload_conf()");
        }
    }

    [Fact]
    public async Task Probe_LivePrimaryAfterPromotion_TimelineSysidVersionSegmentSize()
    {
        var options = AgentOptionsFor(fixture.TemplateA, fixture.A.Replicas[0]);
        await using var connections = new PostgresConnectionFactory(options.Postgres);

        var view = await new NodeViewProbe(connections, options.Postgres).ProbeAsync(CancellationToken.None).WaitAsync(Timeout);

        Assert.Equal("sql", view.Source);
        Assert.Equal(2u, view.Timeline);
        Assert.Equal(fixture.NodeA.SystemIdentifier, view.SystemIdentifier);
        Assert.Equal(16UL * 1024 * 1024, view.SegmentSize);
        Assert.Equal(8192, view.BlockSize);
        Assert.Equal(NodeRole.Primary, view.Role);
        Assert.Equal("on", view.ArchiveMode);
        Assert.True(view.MajorVersion >= 13);
        Assert.NotNull(view.CurrentLsn);
    }

    [Fact]
    public async Task Probe_PostgresDown_FallsBackToPgControlData()
    {
        var stopped = fixture.A.Primary;
        Assert.False(stopped.IsRunning);
        var options = new PostgresOptions
        {
            Host = "127.0.0.1",
            Port = stopped.Port,
            DataDirectory = stopped.DataDirectory,
            BinDirectory = fixture.A.BinDirectory,
        };
        await using var connections = new PostgresConnectionFactory(options);

        var view = await new NodeViewProbe(connections, options).ProbeAsync(CancellationToken.None).WaitAsync(Timeout);

        Assert.Equal("pg_controldata", view.Source);
        Assert.Equal(fixture.NodeA.SystemIdentifier, view.SystemIdentifier);
        Assert.Equal(16UL * 1024 * 1024, view.SegmentSize);
        Assert.Equal(1u, view.Timeline);
        Assert.NotNull(view.Error);
    }

    [Fact]
    public async Task VerifyArchiveRpc_StreamsProgressThenResult_AndMetricsShowIt()
    {
        using var archive = new ArchiveCopy(fixture.TemplateA);
        var app = AgentHost.Build(null, HostSettings(archive.Directory, fixture.A.Replicas[0]));
        await app.StartAsync().WaitAsync(Timeout);
        try
        {
            var addresses = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Select(a => new Uri(a)).ToList();
            using var channel = GrpcChannels.ForAddress(new Uri($"http://127.0.0.1:{addresses[0].Port}"));

            using var call = new AgentService.AgentServiceClient(channel).VerifyArchive(new VerifyArchiveRequest { Deep = true }, new CallOptions(deadline: DateTime.UtcNow + Timeout));
            var messages = new List<VerifyArchiveProgress>();
            while (await call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(Timeout))
            {
                messages.Add(call.ResponseStream.Current);
            }

            Assert.True(messages.Count >= 2, $"{messages.Count} messages");
            Assert.All(messages[..^1], m => Assert.Null(m.Result));
            var final = messages[^1];
            Assert.Equal(ArchiveVerdict.Ok, final.Result.Verdict);
            Assert.True(final.Result.Deep);
            Assert.Equal(final.SegmentsTotal, final.SegmentsDone);
            Assert.Equal((ulong)(fixture.Timeline1Segments.Count + fixture.Timeline2Segments.Count + 1), final.SegmentsTotal);

            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{addresses[1].Port}"), Timeout = Timeout };
            var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative)).WaitAsync(Timeout);
            Assert.Contains("fleet_archive_verdict{", metrics, StringComparison.Ordinal);
            Assert.Contains("verdict=\"ok\"", metrics, StringComparison.Ordinal);
            Assert.Contains("fleet_archive_verification_deep", metrics, StringComparison.Ordinal);
        }
        finally
        {
            await app.StopAsync().WaitAsync(Timeout);
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task VerifyArchiveRpc_NoArchiveConfigured_FailedPrecondition()
    {
        var settings = HostSettings(string.Empty, fixture.A.Replicas[0]);
        settings.Remove("Archive:Location");
        var app = AgentHost.Build(null, settings);
        await app.StartAsync().WaitAsync(Timeout);
        try
        {
            var port = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First()).Port;
            using var channel = GrpcChannels.ForAddress(new Uri($"http://127.0.0.1:{port}"));
            using var call = new AgentService.AgentServiceClient(channel).VerifyArchive(new VerifyArchiveRequest(), new CallOptions(deadline: DateTime.UtcNow + Timeout));

            var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(Timeout));

            Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
            Assert.Contains("Archive:Location", error.Status.Detail, StringComparison.Ordinal);
        }
        finally
        {
            await app.StopAsync().WaitAsync(Timeout);
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task Command_IntactArchive_Exit0_DamagedExit2_Json()
    {
        using var archive = new ArchiveCopy(fixture.TemplateA);
        var settings = HostSettings(archive.Directory, fixture.A.Replicas[0]);
        var output = new StringWriter();
        var error = new StringWriter();

        var ok = await VerifyArchiveCommand.RunAsync([], output, error, settings).WaitAsync(Timeout);
        var text = output.ToString();
        archive.Delete(fixture.Timeline2Segments[1]);
        output.GetStringBuilder().Clear();
        var failed = await VerifyArchiveCommand.RunAsync(["--json"], output, error, settings).WaitAsync(Timeout);
        var json = ArchiveStatus.Parser.WithDiscardUnknownFields(true).ParseJson(output.ToString());

        Assert.Equal(VerifyArchiveCommand.ExitOk, ok);
        Assert.StartsWith($"WAL archive {archive.Directory}: OK", text, StringComparison.Ordinal);
        Assert.Equal(VerifyArchiveCommand.ExitFailure, failed);
        Assert.Equal(ArchiveVerdict.Failure, json.Verdict);
        Assert.Equal(fixture.Timeline2Segments[1], json.FirstProblem.Subject);
        Assert.Equal(string.Empty, error.ToString());
    }

    [Fact]
    public async Task Command_RegionMismatchWarningAndUsageErrors_ExitCodes()
    {
        using var archive = new ArchiveCopy(fixture.TemplateA);
        var settings = HostSettings(archive.Directory, fixture.A.Replicas[0]);
        settings.Remove("Archive:Region");
        var noLocation = HostSettings(archive.Directory, fixture.A.Replicas[0]);
        noLocation.Remove("Archive:Location");
        noLocation["Archive:VerifyInterval"] = "00:00:00";

        var warning = await VerifyArchiveCommand.RunAsync([], TextWriter.Null, TextWriter.Null, settings).WaitAsync(Timeout);
        var error = new StringWriter();
        var usage = await VerifyArchiveCommand.RunAsync([], TextWriter.Null, error, noLocation).WaitAsync(Timeout);
        var unknown = await VerifyArchiveCommand.RunAsync(["--frobnicate"], TextWriter.Null, TextWriter.Null, settings).WaitAsync(Timeout);

        Assert.Equal(VerifyArchiveCommand.ExitWarning, warning);
        Assert.Equal(VerifyArchiveCommand.ExitUsage, usage);
        Assert.Contains("Archive:Location is required", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("Archive:VerifyInterval", error.ToString(), StringComparison.Ordinal);
        Assert.Equal(VerifyArchiveCommand.ExitUsage, unknown);
    }

    [Trait(AgentExecutable.TraitName, AgentExecutable.TraitValue)]
    [Fact]
    public async Task Executable_VerifyArchiveSubcommand_ExitCodeFromVerdict()
    {
        using var archive = new ArchiveCopy(fixture.TemplateA);
        var config = await WriteExecutableConfigAsync(archive, fixture.A.Replicas[0]);

        var ok = await RunExecutableAsync("verify-archive", "--config", config);
        archive.Delete(fixture.Timeline1Segments[^2]);
        var failed = await RunExecutableAsync("verify-archive", "--config", config);
        var usage = await RunExecutableAsync("verify-archive", "--nonsense");

        Assert.True(ok.ExitCode == 0, ok.Stdout + ok.Stderr);
        Assert.Contains(": OK", ok.Stdout, StringComparison.Ordinal);
        Assert.Equal(2, failed.ExitCode);
        Assert.Contains("segment_missing", failed.Stdout, StringComparison.Ordinal);
        Assert.Equal(3, usage.ExitCode);
    }

    [Trait(AgentExecutable.TraitName, AgentExecutable.TraitValue)]
    [Fact]
    public async Task Executable_VerifyArchive_FlippedByteInsideRecord_HeaderRunPasses_DeepRunFindsIt_Json()
    {
        using var archive = new ArchiveCopy(fixture.TemplateA);
        await archive.FlipBitInsideRecordAsync(fixture.Record);
        var segment = fixture.Record.Segment;
        var config = await WriteExecutableConfigAsync(archive, fixture.A.Replicas[0]);

        // The damage keeps every header intact: only reading the records finds it.
        var headers = await RunExecutableAsync("verify-archive", "--config", config);
        var deep = await RunExecutableAsync("verify-archive", "--config", config, "--deep", "--json");

        Assert.True(headers.ExitCode == 0, headers.Stdout + headers.Stderr);
        Assert.True(deep.ExitCode == 2, deep.Stdout + deep.Stderr);
        using var report = System.Text.Json.JsonDocument.Parse(deep.Stdout);
        var text = report.RootElement.GetRawText();
        Assert.Contains(FindingCodes.RecordCrcMismatch, text, StringComparison.Ordinal);
        Assert.Contains(segment, text, StringComparison.Ordinal);
    }

    /// <summary>The configuration file the executable's verify-archive reads: this copy, checked against <paramref name="node"/>.</summary>
    private static async Task<string> WriteExecutableConfigAsync(ArchiveCopy archive, IPostgresNode node)
    {
        var config = Path.Combine(archive.Directory, "agent.json");
        await File.WriteAllTextAsync(config, $$"""
            { "Node": { "Name": "node1", "Cluster": "archive-tests", "Region": "kr-central" },
              "Postgres": { "Host": "{{node.Host}}", "Port": {{node.Port}} },
              "Archive": { "Location": "{{archive.Directory}}", "Region": "kr-central" } }
            """);
        return config;
    }

    private static AgentOptions AgentOptionsFor(string archive, IPostgresNode node) => new()
    {
        Node = new NodeOptions { Name = node.Name, Cluster = "archive-tests", Region = "kr-central" },
        Postgres = new PostgresOptions { Host = node.Host, Port = node.Port, DataDirectory = node.DataDirectory },
        Archive = new ArchiveOptions { Location = archive, Region = "kr-central" },
    };

    private static Dictionary<string, string?> HostSettings(string archive, IPostgresNode node) => new()
    {
        ["Node:Name"] = node.Name,
        ["Node:Cluster"] = "archive-tests",
        ["Node:Region"] = "kr-central",
        ["Listen:Grpc"] = "127.0.0.1:0",
        ["Listen:Http"] = "127.0.0.1:0",
        ["Postgres:Host"] = node.Host,
        ["Postgres:Port"] = node.Port.ToString(CultureInfo.InvariantCulture),
        ["Archive:Location"] = archive,
        ["Archive:Region"] = "kr-central",
        ["Logging:LogLevel:Default"] = "Warning",
    };

    private static async Task ExecuteAsync(IPostgresNode node, string sql)
    {
        await using var connection = await node.OpenConnectionAsync().WaitAsync(Timeout);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync().WaitAsync(Timeout);
    }

    private static async Task<T> ScalarAsync<T>(IPostgresNode node, string sql)
    {
        await using var connection = await node.OpenConnectionAsync().WaitAsync(Timeout);
        await using var command = new NpgsqlCommand(sql, connection);
        var value = await command.ExecuteScalarAsync().WaitAsync(Timeout);
        return value is DBNull or null ? default! : (T)value;
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunExecutableAsync(params string[] arguments)
    {
        using var process = Process.Start(AgentExecutable.StartInfo(arguments)) ?? throw new InvalidOperationException("fleet-agent did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(Timeout);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await stdout.WaitAsync(Timeout), await stderr.WaitAsync(Timeout));
    }
}
