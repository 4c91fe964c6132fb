using Fleet.Aggregator;

namespace Fleet.Grpc.Tests.Hosts;

/// <summary>The real fleet-aggregator (<see cref="AggregatorHost.Build"/>) with no agents, its SQLite store in a temporary directory.</summary>
public sealed class AggregatorHostFixture : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("fleet-grpc-tests-aggregator-").FullName;

    public RunningHost Host { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var settings = RunningHost.BaseSettings();
        settings["Region"] = "test-region";
        settings["InstanceId"] = "grpc-tests-aggregator";
        settings["Store:Path"] = Path.Combine(_directory, "aggregator.db");
        settings["Failover:Enabled"] = "false";
        Host = await RunningHost.StartAsync(AggregatorHost.Build(null, settings));
    }

    public async Task DisposeAsync()
    {
        try
        {
            if (Host is not null)
            {
                await Host.DisposeAsync();
            }
        }
        finally
        {
            Directory.Delete(_directory, recursive: true);
        }
    }
}
