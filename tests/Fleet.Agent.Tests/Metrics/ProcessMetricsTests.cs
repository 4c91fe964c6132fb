using Fleet.Testing;
using Fleet.Agent.Tests.Host;
using Grpc.Core;

namespace Fleet.Agent.Tests.Metrics;

/// <summary>The process's own instrumentation (prometheus-net) on a running agent's /metrics, after real calls.</summary>
[Collection(SharedClusterAgentsGroup.Name)]
public sealed class ProcessMetricsTests(SharedClusterAgentsFixture fixture)
{
    [Fact]
    public async Task Metrics_AfterGrpcCalls_CountsThemByMethodAndStatus_WithProcessAndHttpFamilies_PromtoolValid()
    {
        var agent = fixture.PrimaryAgent;
        var before = GrpcHandled(await ScrapeAsync(agent), "unary", "fleet.v1.AgentService", "GetStatus", "OK");
        await agent.GetStatusAsync();
        await agent.GetStatusAsync();

        // A refusal counts under its status; a service the agent does not serve counts under "unknown", so
        // whatever paths clients send cannot grow the series.
        var notFound = await Assert.ThrowsAsync<RpcException>(
            () => new Grpc.Health.V1.Health.HealthClient(agent.Channel)
                .CheckAsync(new Grpc.Health.V1.HealthCheckRequest { Service = "no.such.Service" }).ResponseAsync).WaitAsync(RunningAgent.CallTimeout);
        Assert.Equal(StatusCode.NotFound, notFound.StatusCode);
        var unimplemented = await Assert.ThrowsAsync<RpcException>(
            () => new Fleet.Protos.V1.FleetService.FleetServiceClient(agent.Channel).ListClustersAsync(new Fleet.Protos.V1.ListClustersRequest()).ResponseAsync)
            .WaitAsync(RunningAgent.CallTimeout);
        Assert.Equal(StatusCode.Unimplemented, unimplemented.StatusCode);

        var text = await ScrapeAsync(agent);

        Assert.Equal(before + 2, GrpcHandled(text, "unary", "fleet.v1.AgentService", "GetStatus", "OK"));
        Assert.True(GrpcHandled(text, "unary", "grpc.health.v1.Health", "Check", "NotFound") >= 1, text);
        Assert.True(GrpcHandled(text, "unknown", "unknown", "unknown", "Unimplemented") >= 1, text);
        Assert.DoesNotContain("fleet.v1.FleetService", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE grpc_server_handling_seconds histogram", text, StringComparison.Ordinal);
        Assert.Contains("\nprocess_cpu_seconds_total ", text, StringComparison.Ordinal);
        Assert.Contains("\nprocess_working_set_bytes ", text, StringComparison.Ordinal);
        Assert.Contains("dotnet_collection_count_total{generation=\"0\"}", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE http_requests_received_total counter", text, StringComparison.Ordinal);
        Assert.Contains("fleet_agent_info{", text, StringComparison.Ordinal);
        Promtool.AssertValid(text);
    }

    private static async Task<string> ScrapeAsync(RunningAgent agent) => await agent.Http.GetStringAsync("/metrics").WaitAsync(RunningAgent.CallTimeout);

    private static double GrpcHandled(string text, string type, string service, string method, string code)
    {
        var prefix = $"grpc_server_handled_total{{grpc_type=\"{type}\",grpc_service=\"{service}\",grpc_method=\"{method}\",grpc_code=\"{code}\"}} ";
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[prefix.Length..], System.Globalization.CultureInfo.InvariantCulture);
    }
}
