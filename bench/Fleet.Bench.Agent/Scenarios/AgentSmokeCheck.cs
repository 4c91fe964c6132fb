using System.Globalization;
using System.Net;
using Fleet.Bench.Agent.Processes;
using Fleet.Bench.Agent.Setup;
using Fleet.Hosting.Grpc;
using Fleet.Protos.V1;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Reflection.V1;

namespace Fleet.Bench.Agent.Scenarios;

/// <summary>One check of a running agent build: what was asked and whether the answer was right.</summary>
internal sealed record SmokeResult(string Check, bool Passed, string Detail);

/// <summary>
/// Proves a build really works (the trimmer removes what it cannot see used): AgentService GetStatus and
/// CollectNow over gRPC, server reflection (list and file-by-symbol), gRPC health, /metrics with the slow
/// figures, and the role checks.
/// </summary>
internal static class AgentSmokeCheck
{
    public static async Task<List<SmokeResult>> RunAsync(AgentProcess agent, HttpClient http, CancellationToken cancellationToken)
    {
        var results = new List<SmokeResult>();
        using var channel = GrpcChannels.ForAddress($"http://127.0.0.1:{agent.GrpcPort.ToString(CultureInfo.InvariantCulture)}");
        var agentService = new AgentService.AgentServiceClient(channel);
        var reflection = new ServerReflection.ServerReflectionClient(channel);
        var health = new Health.HealthClient(channel);
        var options = new CallOptions(deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: cancellationToken);

        await CheckAsync(results, "gRPC AgentService.GetStatus", async () =>
        {
            var status = await agentService.GetStatusAsync(new GetStatusRequest(), options);
            var snapshot = status.Snapshot;
            var ok = status.Role == NodeRole.Primary && status.PostgresState == PostgresState.Up &&
                     snapshot.Databases.Any(d => d.Name == BenchPostgres.Database && d.HasSizeBytes) &&
                     snapshot.TableHealth?.TopTables.Count > 0;
            return (ok, $"role={status.Role} postgres={status.PostgresState} databases={snapshot.Databases.Count} " +
                        $"top_tables={snapshot.TableHealth?.TopTables.Count ?? 0} agent_version={status.AgentVersion}");
        });

        await CheckAsync(results, "gRPC AgentService.CollectNow", async () =>
        {
            var collected = await agentService.CollectNowAsync(new CollectNowRequest(), options);
            var snapshot = collected.Snapshot;
            return (snapshot.PostgresState == PostgresState.Up && snapshot.CollectionErrors.Count == 0,
                $"collection {snapshot.CollectionSeconds * 1000:F1} ms, errors={snapshot.CollectionErrors.Count}");
        });

        await CheckAsync(results, "gRPC reflection list_services", async () =>
        {
            var response = await AskReflectionAsync(reflection, new ServerReflectionRequest { ListServices = string.Empty }, options);
            var names = response.ListServicesResponse?.Service.Select(s => s.Name).ToList() ?? [];
            return (names.Contains("fleet.v1.AgentService") && names.Contains("grpc.health.v1.Health"), string.Join(", ", names));
        });

        await CheckAsync(results, "gRPC reflection file_containing_symbol", async () =>
        {
            var response = await AskReflectionAsync(reflection, new ServerReflectionRequest { FileContainingSymbol = "fleet.v1.AgentService" }, options);
            var files = response.FileDescriptorResponse?.FileDescriptorProto.Count ?? 0;
            return (files > 0, $"{files} file descriptor(s)");
        });

        await CheckAsync(results, "gRPC health Check", async () =>
        {
            var response = await health.CheckAsync(new HealthCheckRequest { Service = string.Empty }, options);
            return (response.Status == HealthCheckResponse.Types.ServingStatus.Serving, response.Status.ToString());
        });

        await CheckAsync(results, "GET /metrics", async () =>
        {
            var metrics = await agent.ScrapeAsync(cancellationToken);
            var ok = metrics.Value("fleet_pg_up") == 1 && metrics.Value("fleet_pg_table_dead_tuples") is not null &&
                     metrics.Value("fleet_pg_database_size_bytes") is not null;
            return (ok, $"{metrics.SeriesCount} series, {metrics.Families.Count} families, {metrics.Bytes} bytes");
        });

        foreach (var (path, expected) in new[] { ("/health", HttpStatusCode.OK), ("/primary", HttpStatusCode.OK), ("/replica", HttpStatusCode.ServiceUnavailable) })
        {
            await CheckAsync(results, $"GET {path}", async () =>
            {
                using var response = await http.GetAsync($"http://127.0.0.1:{agent.HttpPort.ToString(CultureInfo.InvariantCulture)}{path}", cancellationToken);
                return (response.StatusCode == expected, $"{(int)response.StatusCode} (expected {(int)expected})");
            });
        }

        return results;
    }

    private static async Task<ServerReflectionResponse> AskReflectionAsync(ServerReflection.ServerReflectionClient reflection, ServerReflectionRequest request, CallOptions options)
    {
        using var call = reflection.ServerReflectionInfo(options);
        await call.RequestStream.WriteAsync(request);
        if (!await call.ResponseStream.MoveNext())
        {
            throw new InvalidOperationException("reflection stream ended without an answer");
        }

        var response = call.ResponseStream.Current;
        await call.RequestStream.CompleteAsync();
        while (await call.ResponseStream.MoveNext())
        {
            // Drain to the trailers.
        }

        return response;
    }

    private static async Task CheckAsync(List<SmokeResult> results, string name, Func<Task<(bool Ok, string Detail)>> check)
    {
        try
        {
            var (ok, detail) = await check();
            results.Add(new SmokeResult(name, ok, detail));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            results.Add(new SmokeResult(name, false, $"{e.GetType().Name}: {e.Message}"));
        }
    }
}
