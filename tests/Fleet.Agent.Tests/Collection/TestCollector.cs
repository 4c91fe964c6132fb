using Fleet.Agent.Collection;
using Fleet.Agent.Configuration;
using Fleet.Protos.V1;
using Fleet.LocalFleet.Postgres;

namespace Fleet.Agent.Tests.Collection;

/// <summary>A collector pointed at one test node, with bounded awaits.</summary>
internal sealed class TestCollector : IAsyncDisposable
{
    /// <summary>Bound for one collection on a busy 2-core machine (connect + statement timeouts fit well inside).</summary>
    public static readonly TimeSpan CollectTimeout = TimeSpan.FromSeconds(30);

    private TestCollector(PostgresConnectionFactory factory, PostgresCollector collector)
    {
        Factory = factory;
        Collector = collector;
    }

    public PostgresConnectionFactory Factory { get; }

    public PostgresCollector Collector { get; }

    public long Batches => Collector.Batches.Executed;

    public static PostgresOptions OptionsFor(IPostgresNode node) => new()
    {
        Host = node.Host,
        Port = node.Port,
        User = "postgres",
        Database = "postgres",
        DataDirectory = node.DataDirectory,
        ConnectTimeout = TimeSpan.FromSeconds(5),
        StatementTimeout = TimeSpan.FromSeconds(5),
        LockTimeout = TimeSpan.FromMilliseconds(200),
    };

    public static TestCollector Create(
        IPostgresNode node, TimeProvider? time = null, CollectionOptions? collection = null, Action<PostgresOptions>? configure = null)
    {
        var options = OptionsFor(node);
        configure?.Invoke(options);
        return Create(options, time, collection);
    }

    public static TestCollector Create(PostgresOptions options, TimeProvider? time = null, CollectionOptions? collection = null)
    {
        var factory = new PostgresConnectionFactory(options);
        var collector = new PostgresCollector(
            factory, options, collection ?? new CollectionOptions(), time ?? TimeProvider.System, new HostMetricsReader());
        return new TestCollector(factory, collector);
    }

    public Task<NodeSnapshot> CollectAsync() => Collector.CollectAsync(CancellationToken.None).WaitAsync(CollectTimeout);

    public async ValueTask DisposeAsync()
    {
        await Collector.DisposeAsync();
        await Factory.DisposeAsync();
    }
}
