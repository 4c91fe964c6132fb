using Fleet.Agent.Collection;
using Npgsql;

namespace Fleet.Agent.Tests.Collection;

public sealed class UnpooledDataSourcesTests
{
    private readonly List<string> _built = [];

    [Fact]
    public async Task For_SameDatabaseAgain_ReusesTheDataSourceWithoutBuilding()
    {
        await using var sources = new UnpooledDataSources(3, Build);

        var first = sources.For("orders");
        var again = sources.For("orders");

        Assert.Same(first, again);
        Assert.Equal(["orders"], _built);
    }

    [Fact]
    public async Task For_MoreDatabasesThanCapacity_DropsTheLeastRecentlyUsedOnly()
    {
        await using var sources = new UnpooledDataSources(2, Build);
        var a = sources.For("a");
        sources.For("b");
        Assert.Same(a, sources.For("a")); // a is now more recent than b

        sources.For("c");

        Assert.Equal(2, sources.Count);
        Assert.Same(a, sources.For("a"));
        Assert.Equal(["a", "b", "c"], _built);
        sources.For("b");
        Assert.Equal(["a", "b", "c", "b"], _built);
    }

    [Fact]
    public async Task For_ManyDatabasesComingAndGoing_StaysWithinCapacity()
    {
        await using var sources = new UnpooledDataSources(5, Build);

        for (var i = 0; i < 200; i++)
        {
            sources.For($"ci_{i}");
        }

        Assert.Equal(5, sources.Count);
    }

    private NpgsqlDataSource Build(string database)
    {
        _built.Add(database);
        return NpgsqlDataSource.Create($"Host=127.0.0.1;Database={database};Pooling=false");
    }
}
