using Fleet.Agent.Collection;
using Fleet.Agent.Configuration;
using Fleet.Protos.V1;
using Fleet.Testing.Hosting;
using Fleet.LocalFleet.Postgres;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Fleet.Agent.Tests.Collection;

/// <summary>A lone primary of its own that these tests stop, lock and misconfigure access to.</summary>
public sealed class LonePrimaryFixture : IAsyncLifetime
{
    private LocalPostgresCluster? _cluster;

    public IPostgresCluster Cluster => _cluster ?? throw new InvalidOperationException("The cluster is not started.");

    public async Task InitializeAsync() => _cluster = await LocalPostgresCluster
        .StartAsync(new PostgresClusterOptions { ReplicaCount = 0, ArchiveEnabled = false })
        .WaitAsync(CollectionClusterFixture.StartTimeout);

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(60));
        }
    }
}

/// <summary>Postgres down, refusing, locked or rejecting us: the collector reports it and keeps going.</summary>
public sealed class PostgresDownTests(LonePrimaryFixture fixture) : IClassFixture<LonePrimaryFixture>
{
    private static readonly TimeSpan ServerTimeout = TimeSpan.FromSeconds(90);

    private IPostgresNode Primary => fixture.Cluster.Primary;

    [Fact]
    public async Task CollectNowAsync_PostgresStoppedThenStarted_ReportsDownOverTcpAndSocketAndRecovers()
    {
        using var logs = new CollectingLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(builder => builder.AddProvider(logs));
        await using var tcp = TestCollector.Create(Primary);
        await using var socket = TestCollector.Create(Primary, configure: options => options.Host = fixture.Cluster.RootDirectory);
        var board = new SnapshotBoard();
        using var loop = new CollectionLoop(
            tcp.Collector, board, Options.Create(new AgentOptions()), TimeProvider.System, loggerFactory.CreateLogger<CollectionLoop>());
        try
        {
            Assert.Equal(PostgresState.Up, (await CollectNowAsync(loop)).PostgresState);
            Assert.Equal(PostgresState.Up, (await socket.CollectAsync()).PostgresState);

            await Primary.StopAsync().WaitAsync(ServerTimeout);
            var down = await CollectNowAsync(loop);
            var stillDown = await CollectNowAsync(loop);
            var socketDown = await socket.CollectAsync();

            foreach (var snapshot in new[] { down, stillDown, socketDown })
            {
                Assert.Equal(PostgresState.Down, snapshot.PostgresState);
                Assert.Equal(NodeRole.Unknown, snapshot.Role);
                Assert.False(string.IsNullOrWhiteSpace(snapshot.PostgresError));
                Assert.NotEmpty(snapshot.CollectionErrors);
                Assert.Null(snapshot.Primary);
                Assert.Empty(snapshot.Databases);
                Assert.True(snapshot.Host.MemoryTotalBytes > 0, "host figures do not depend on Postgres");
            }

            Assert.Equal("connection refused", down.PostgresError);
            Assert.Equal("socket not found: no postmaster", socketDown.PostgresError);
            Assert.Same(stillDown, board.Current);
        }
        finally
        {
            await Primary.StartAsync().WaitAsync(ServerTimeout);
        }

        var up = await CollectNowAsync(loop);
        Assert.Equal(PostgresState.Up, up.PostgresState);
        Assert.Equal(NodeRole.Primary, up.Role);
        Assert.Empty(up.CollectionErrors);
        Assert.Equal(PostgresState.Up, (await socket.CollectAsync()).PostgresState);
        // State changes only: Unspecified→Up, Up→Down, Down→Up; the second DOWN cycle logs nothing.
        Assert.Equal([3001, 3002, 3001], logs.Entries.Select(entry => entry.EventId.Id).Where(id => id is 3001 or 3002));
        Assert.Empty(logs.Errors);
    }

    [Fact]
    public async Task CollectAsync_CatalogLockedBeyondLockTimeout_ReportsUpWithTheErrorAndRecovers()
    {
        await using var collector = TestCollector.Create(Primary);
        Assert.Equal(PostgresState.Up, (await collector.CollectAsync()).PostgresState);

        NodeSnapshot blocked;
        await using (var holder = await Sql.OpenAsync(Primary))
        await using (var transaction = await holder.BeginTransactionAsync())
        {
            // pg_stat_database joins pg_database: the fast batch must give up after lock_timeout, not hang.
            await Sql.ExecuteAsync(holder, "LOCK TABLE pg_catalog.pg_database IN ACCESS EXCLUSIVE MODE");
            blocked = await collector.CollectAsync();
            await transaction.RollbackAsync();
        }

        Assert.Equal(PostgresState.Up, blocked.PostgresState);
        Assert.Equal("", blocked.PostgresError);
        Assert.Contains(blocked.CollectionErrors, error => error.Contains("55P03", StringComparison.Ordinal));
        Assert.True(blocked.CollectionSeconds < 5, $"took {blocked.CollectionSeconds} s; lock_timeout is 200 ms");
        var recovered = await collector.CollectAsync();
        Assert.Equal(PostgresState.Up, recovered.PostgresState);
        Assert.Empty(recovered.CollectionErrors);
        Assert.Equal(NodeRole.Primary, recovered.Role);
    }

    [Fact]
    public async Task CollectAsync_UnknownRole_ReportsUnreachableWithoutThePassword()
    {
        const string Secret = "pw-that-must-never-leak-4711";
        var variable = "FLEET_TEST_PG_PASSWORD_" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(variable, Secret);
        try
        {
            await using var collector = TestCollector.Create(Primary, configure: options =>
            {
                options.User = "no_such_role";
                options.PasswordEnvironmentVariable = variable;
            });

            var snapshot = await collector.CollectAsync();
            var again = await collector.CollectAsync();

            Assert.Equal(PostgresState.Unreachable, snapshot.PostgresState);
            Assert.Equal("28000: authentication failed", snapshot.PostgresError);
            Assert.Equal(PostgresState.Unreachable, again.PostgresState);
            Assert.DoesNotContain(Secret, snapshot.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    [Fact]
    public async Task CollectAsync_NothingListening_ReportsDownQuickly()
    {
        await using var collector = TestCollector.Create(Primary, configure: options => options.Port = UnusedPort());

        var snapshot = await collector.CollectAsync();

        Assert.Equal(PostgresState.Down, snapshot.PostgresState);
        Assert.Equal("connection refused", snapshot.PostgresError);
        Assert.Equal(0U, snapshot.ServerVersionNum);
    }

    private static int UnusedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static Task<NodeSnapshot> CollectNowAsync(CollectionLoop loop) =>
        loop.CollectNowAsync(CancellationToken.None).WaitAsync(TestCollector.CollectTimeout);
}
