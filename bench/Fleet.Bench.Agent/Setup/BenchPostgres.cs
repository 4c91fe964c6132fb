using System.Globalization;
using Fleet.LocalFleet.Postgres;
using Npgsql;

namespace Fleet.Bench.Agent.Setup;

/// <summary>
/// The PostgreSQL server both contenders watch: a primary from the installed binaries (no replicas, no
/// archiving) with pg_stat_statements preloaded, so statement time can be compared as well as CPU, and
/// autovacuum off, so no worker comes and goes during a measurement window (their CPU would be counted).
/// The only file naming the cluster fixture's namespace (it may move to Fleet.LocalFleet.Postgres).
/// </summary>
internal sealed class BenchPostgres : IAsyncDisposable
{
    public const string Database = "bench";
    public const string SlotName = "bench_slot";

    private readonly LocalPostgresCluster _cluster;

    private BenchPostgres(LocalPostgresCluster cluster) => _cluster = cluster;

    public string Host => _cluster.Primary.Host;

    public int Port => _cluster.Primary.Port;

    public string DataDirectory => _cluster.Primary.DataDirectory;

    public string BinDirectory => _cluster.BinDirectory;

    public string ServerVersion { get; private set; } = string.Empty;

    /// <summary>The postmaster's pid, from the first line of postmaster.pid.</summary>
    public int PostmasterPid => int.Parse(File.ReadLines(Path.Combine(DataDirectory, "postmaster.pid")).First(), CultureInfo.InvariantCulture);

    public static async Task<BenchPostgres> StartAsync(Action<string> log, CancellationToken cancellationToken)
    {
        var cluster = await LocalPostgresCluster.StartAsync(
            new PostgresClusterOptions
            {
                ReplicaCount = 0,
                ArchiveEnabled = false,
                ExtraSettings = new Dictionary<string, string>
                {
                    ["shared_preload_libraries"] = "pg_stat_statements",
                    ["pg_stat_statements.track"] = "top",
                    ["autovacuum"] = "off",
                    ["max_connections"] = "60",
                },
                Log = log,
            },
            cancellationToken);
        var postgres = new BenchPostgres(cluster);
        try
        {
            await using var connection = await postgres.OpenAsync("postgres", cancellationToken);
            postgres.ServerVersion = connection.ServerVersion;
            await using var command = new NpgsqlCommand($"CREATE DATABASE {Database}", connection);
            await command.ExecuteNonQueryAsync(cancellationToken);
            command.CommandText = "CREATE EXTENSION IF NOT EXISTS pg_stat_statements";
            await command.ExecuteNonQueryAsync(cancellationToken);
            return postgres;
        }
        catch
        {
            await postgres.DisposeAsync();
            throw;
        }
    }

    /// <summary>A new unpooled superuser connection to <paramref name="database"/>.</summary>
    public async Task<NpgsqlConnection> OpenAsync(string database, CancellationToken cancellationToken, string applicationName = "fleet-bench")
    {
        var builder = new NpgsqlConnectionStringBuilder(_cluster.Primary.ConnectionString)
        {
            Database = database,
            ApplicationName = applicationName,
            CommandTimeout = 600,
        };
        var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    /// <summary>libpq URL for postgres_exporter (trust authentication on loopback, no TLS).</summary>
    public string ExporterDataSourceName =>
        $"postgresql://postgres@{Host}:{Port.ToString(CultureInfo.InvariantCulture)}/{Database}?sslmode=disable";

    public ValueTask DisposeAsync() => _cluster.DisposeAsync();
}
