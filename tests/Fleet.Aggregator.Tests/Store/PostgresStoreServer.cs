using Fleet.LocalFleet.Postgres;
using Npgsql;

namespace Fleet.Aggregator.Tests.Store;

/// <summary>
/// One real PostgreSQL server (no replicas) for the PostgreSQL store tests of this assembly: each test
/// works in its own schema (<see cref="PostgresTempStore"/>), so they share the server without sharing rows.
/// </summary>
public sealed class PostgresStoreServer : IAsyncLifetime
{
    private LocalPostgresCluster? cluster;

    public string ConnectionString { get; private set; } = string.Empty;

    public async Task InitializeAsync()
    {
        cluster = await LocalPostgresCluster.StartAsync(new PostgresClusterOptions { ReplicaCount = 0, ArchiveEnabled = false }).WaitAsync(TimeSpan.FromSeconds(60));
        ConnectionString = cluster.Primary.ConnectionString;
    }

    /// <summary>A plain connection to the server's default database, for checks the store does not offer.</summary>
    public async Task<NpgsqlConnection> OpenAsync()
    {
        var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    public async ValueTask DropSchemaAsync(string schema)
    {
        await using var connection = await OpenAsync();
        // The schema name is made by the tests (t_ + a GUID).
        await using var command = new NpgsqlCommand($"DROP SCHEMA IF EXISTS \"{schema}\" CASCADE", connection);
        await command.ExecuteNonQueryAsync();
    }

    public async Task DisposeAsync()
    {
        if (cluster is not null)
        {
            await cluster.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresStoreCollection : ICollectionFixture<PostgresStoreServer>
{
    public const string Name = "PostgreSQL store";
}
