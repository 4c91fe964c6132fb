using Fleet.Agent;

namespace Fleet.Grpc.Tests.Hosts;

/// <summary>
/// The real fleet-agent (<see cref="AgentHost.Build"/>) with no PostgreSQL and no aggregator: its PostgreSQL is a
/// Unix socket directory that does not exist (DOWN at once, no port involved), and it serves gRPC regardless.
/// </summary>
public sealed class AgentHostFixture : IAsyncLifetime
{
    public RunningHost Host { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var settings = RunningHost.BaseSettings();
        settings["Node:Name"] = "grpc-tests-agent";
        settings["Node:Cluster"] = "grpc-tests";
        settings["Node:Region"] = "test-region";
        settings["Postgres:Host"] = Path.Combine(Path.GetTempPath(), "fleet-grpc-tests-no-postgres-" + Guid.NewGuid().ToString("N"));
        settings["Collection:Interval"] = "00:00:01";
        settings["Postgres:StatementTimeout"] = "00:00:02";
        Host = await RunningHost.StartAsync(AgentHost.Build(null, settings));
    }

    public async Task DisposeAsync() => await Host.DisposeAsync();
}
