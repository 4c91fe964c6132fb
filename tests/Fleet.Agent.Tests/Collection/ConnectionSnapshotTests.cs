using Fleet.Protos.V1;
using Fleet.LocalFleet.Postgres;
using Npgsql;

namespace Fleet.Agent.Tests.Collection;

/// <summary>pg_stat_activity and pg_locks figures against sessions the test opens itself.</summary>
[Collection(CollectionClusterGroup.Name)]
public sealed class ConnectionSnapshotTests(CollectionClusterFixture fixture)
{
    private static readonly TimeSpan Condition = TimeSpan.FromSeconds(30);

    private IPostgresNode Primary => fixture.Cluster.Primary;

    [Fact]
    public async Task CollectAsync_FiveMoreSessions_TotalAndIdleGrowByFive()
    {
        await using var collector = TestCollector.Create(Primary);
        var before = (await collector.CollectAsync()).Connections;
        var sessions = new List<NpgsqlConnection>();
        try
        {
            for (var i = 0; i < 5; i++)
            {
                sessions.Add(await Sql.OpenAsync(Primary));
            }

            var after = (await collector.CollectAsync()).Connections;

            Assert.Equal(before.Total + 5, after.Total);
            Assert.Equal(before.Idle + 5, after.Idle);
            Assert.Equal(40U, after.MaxConnections);
        }
        finally
        {
            foreach (var session in sessions)
            {
                await session.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task CollectAsync_LockHeldIdleInTransactionAndAWaiter_CountsBothAndTheDurations()
    {
        var table = Sql.UniqueName("coll_wait");
        await Sql.ExecuteAsync(Primary, $"CREATE TABLE {table} (id int)");
        await using var collector = TestCollector.Create(Primary);
        await using var holder = await Sql.OpenAsync(Primary);
        await using var waiter = await Sql.OpenAsync(Primary);
        await using (var transaction = await holder.BeginTransactionAsync())
        {
            await Sql.ExecuteAsync(holder, $"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE");
            await using var blocked = new NpgsqlCommand($"SELECT count(*) FROM {table}", waiter);
            var waiting = blocked.ExecuteScalarAsync();

            NodeSnapshot.Types.Connections? connections = null;
            await Polling.UntilAsync(
                async _ =>
                {
                    connections = (await collector.CollectAsync()).Connections;
                    return connections.Waiting >= 1 && connections.WaitingLocks >= 1;
                },
                Condition,
                "the blocked session to show up as waiting");

            Assert.True(connections!.IdleInTransaction >= 1);
            Assert.True(connections.HasLongestIdleInTransactionSeconds);
            Assert.True(connections.HasLongestTransactionSeconds);
            Assert.True(connections.LongestTransactionSeconds >= connections.LongestIdleInTransactionSeconds - 0.5);
            Assert.True(connections.Active >= 1);

            await transaction.RollbackAsync();
            await waiting.WaitAsync(Condition);
        }

        var released = (await collector.CollectAsync()).Connections;
        Assert.Equal(0U, released.WaitingLocks);
        await Sql.ExecuteAsync(Primary, $"DROP TABLE {table}");
    }
}
