using Fleet.Aggregator.Store;
using Fleet.Testing;
using Microsoft.Data.Sqlite;

namespace Fleet.Aggregator.Tests.Store;

public sealed class MigrationTests : IAsyncLifetime
{
    private SqliteTempStore temp = null!;

    public async Task InitializeAsync() => temp = await SqliteTempStore.CreateAsync();

    public async Task DisposeAsync() => await temp.DisposeAsync();

    private List<(long Version, string AppliedAt)> ReadVersionRows()
    {
        using var connection = temp.OpenRawConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT version, applied_at FROM schema_version ORDER BY version";
        using var reader = command.ExecuteReader();
        var rows = new List<(long, string)>();
        while (reader.Read())
        {
            rows.Add((reader.GetInt64(0), reader.GetString(1)));
        }

        return rows;
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    [Fact]
    public void Migrations_AreNumberedFromOneWithoutGaps()
    {
        Assert.Equal(Enumerable.Range(1, SchemaMigrations.All.Count), SchemaMigrations.All.Select(m => m.Version));
        Assert.All(SchemaMigrations.All, m => Assert.False(string.IsNullOrWhiteSpace(m.Description)));
    }

    [Fact]
    public void FreshDatabase_GetsLatestVersion_InWalMode()
    {
        Assert.Equal(SchemaMigrations.LatestVersion, temp.SqliteStore.SchemaVersion);
        Assert.Equal(Enumerable.Range(1, SchemaMigrations.LatestVersion).Select(v => (long)v), ReadVersionRows().Select(r => r.Version));
        using var connection = temp.OpenRawConnection();
        Assert.Equal("wal", Scalar(connection, "PRAGMA journal_mode"));
        Assert.Equal(0L, Scalar(connection, "SELECT COUNT(*) FROM events"));
    }

    [Fact]
    public async Task Reopening_DoesNotReapplyMigrations()
    {
        await temp.Store.AppendEventAsync(new Protos.V1.Event { Cluster = "orders" }, CancellationToken.None).DefaultTimeout();
        var before = ReadVersionRows();

        var store = await temp.RestartAsync();
        await store.InitializeAsync(CancellationToken.None).DefaultTimeout(); // a second call is a no-op

        Assert.Equal(before, ReadVersionRows());
        Assert.Single(await store.QueryEventsAsync(new EventQuery(), CancellationToken.None).DefaultTimeout());
    }

    [Fact]
    public async Task NewerSchema_IsRefusedNamingTheFileAndVersions()
    {
        await temp.SqliteStore.DisposeAsync();
        using (var connection = temp.OpenRawConnection())
        {
            using var command = connection.CreateCommand();
            command.CommandText = "INSERT INTO schema_version (version, description, applied_at) VALUES ($v, 'from the future', '2030-01-01')";
            command.Parameters.AddWithValue("$v", SchemaMigrations.LatestVersion + 5);
            command.ExecuteNonQuery();
        }

        var error = await Assert.ThrowsAsync<StoreSchemaException>(() => temp.OpenAsync()).DefaultTimeout();

        Assert.Contains(temp.Path, error.Message, StringComparison.Ordinal);
        Assert.Contains($"schema version {SchemaMigrations.LatestVersion + 5}", error.Message, StringComparison.Ordinal);
        Assert.Contains($"up to {SchemaMigrations.LatestVersion}", error.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<InvalidOperationException>(() => temp.SqliteStore.GetEpochAsync("orders", CancellationToken.None)).DefaultTimeout();
    }

    [Fact]
    public async Task NotADatabase_IsRefusedNamingTheFile()
    {
        var path = Path.Combine(temp.Directory, "garbage.db");
        await File.WriteAllTextAsync(path, new string('x', 8192));
        var options = new StoreOptions { Path = path };
        await using var store = new SqliteFleetStore(Microsoft.Extensions.Options.Options.Create(options), Microsoft.Extensions.Logging.Abstractions.NullLogger<SqliteFleetStore>.Instance, TimeProvider.System);

        var error = await Assert.ThrowsAsync<StoreSchemaException>(() => store.InitializeAsync(CancellationToken.None)).DefaultTimeout();

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FailedMigration_LeavesTheFileUnchanged()
    {
        var path = Path.Combine(temp.Directory, "partial.db");
        var migrations = new List<SchemaMigration>(SchemaMigrations.All)
        {
            new(SchemaMigrations.LatestVersion + 1, "broken", "CREATE TABLE extra (x INTEGER); THIS IS NOT SQL;"),
        };
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();

        Assert.ThrowsAny<SqliteException>(() => SchemaMigrator.Migrate(connection, path, migrations, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance));

        Assert.Equal(0L, Scalar(connection, "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('schema_version', 'events', 'extra')"));
        Assert.Equal(SchemaMigrations.LatestVersion, SchemaMigrator.Migrate(connection, path, SchemaMigrations.All, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance));
    }
}
