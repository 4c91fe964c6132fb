namespace Fleet.Chaos;

/// <summary>A steady fleet and a writer already writing to its primary node0; disposes both, writer first.</summary>
public sealed class WritingScenario : IAsyncDisposable
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private WritingScenario(ChaosFleet chaos, AcknowledgedWriter writer)
    {
        Chaos = chaos;
        Writer = writer;
    }

    public ChaosFleet Chaos { get; }

    public AcknowledgedWriter Writer { get; }

    public static Task<WritingScenario> StartAsync(bool synchronous, Action<string> log) =>
        StartAsync(new ChaosFleetOptions { Synchronous = synchronous }, log);

    public static async Task<WritingScenario> StartAsync(ChaosFleetOptions options, Action<string> log, WriteTargeting targeting = WriteTargeting.FirstAccepting)
    {
        var chaos = await ChaosFleet.StartAsync(options, log);
        try
        {
            await chaos.WaitUntilSteadyAsync(StartTimeout);
            var postgres = chaos.Fleet.Postgres;
            await AcknowledgedWriter.CreateTableAsync(postgres.Primary.ConnectionString);
            var writer = new AcknowledgedWriter(postgres.Nodes.Select((n, i) => (n.Name, chaos.ClientConnectionString(i))), targeting);
            writer.Start();
            return new WritingScenario(chaos, writer);
        }
        catch
        {
            await chaos.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Writer.DisposeAsync();
        await Chaos.DisposeAsync();
    }
}
