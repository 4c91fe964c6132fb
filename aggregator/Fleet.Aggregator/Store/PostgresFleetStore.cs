using System.Globalization;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace Fleet.Aggregator.Store;

/// <summary>
/// <see cref="IFleetStore"/> on a PostgreSQL database shared by a region's aggregators (Store:Provider
/// Postgres). Every call takes a pooled connection; a write is one transaction. Events take the
/// events table's lock while appending, so IDs become visible in ID order (a follower's tail of the
/// table never skips one). Epochs, audit and sequences commit with synchronous_commit on (the
/// server's durability); events and alerts with it off, as SQLite's NORMAL. docs/store.md.
/// </summary>
internal sealed partial class PostgresFleetStore : IFleetStore, IAsyncDisposable
{
    /// <summary>First key of the advisory locks this store takes (schema migration, alert upserts).</summary>
    private const int AdvisoryLockSpace = 0x466c7431; // "Flt1"

    private readonly PostgresStoreOptions options;
    private readonly StoreOptions storeOptions;
    private readonly ILogger logger;
    private readonly TimeProvider timeProvider;
    private readonly SemaphoreSlim initLock = new(1, 1);
    private NpgsqlDataSource? dataSource;
    private volatile bool initialized;
    private bool disposed;

    public PostgresFleetStore(IOptions<StoreOptions> options, ILogger<PostgresFleetStore> logger, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        storeOptions = options.Value;
        this.options = storeOptions.Postgres;
        this.logger = logger;
        this.timeProvider = timeProvider;
        Description = PostgresStoreSettings.Describe(this.options);
    }

    /// <summary>Server, database and schema, without credentials: what logs and errors name.</summary>
    public string Description { get; }

    public int SchemaVersion { get; private set; }

    public bool IsShared => true;

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await initLock.WaitAsync(cancellationToken);
        try
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            if (initialized)
            {
                return;
            }

            var source = PostgresStoreSettings.BuildDataSource(options);
            try
            {
                SchemaVersion = await MigrateWhenReachableAsync(source, cancellationToken);
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
            {
                await source.DisposeAsync();
                throw new StoreSchemaException($"The store {Description} could not be opened: {ex.Message}", ex);
            }
            catch
            {
                await source.DisposeAsync();
                throw;
            }

            dataSource = source;
            initialized = true;
            logger.StoreOpened(Description, SchemaVersion, "postgresql");
        }
        finally
        {
            initLock.Release();
        }
    }

    /// <summary>Migrates, trying again every second while the server cannot be reached, for at most Store:Postgres:StartupWait.</summary>
    private async Task<int> MigrateWhenReachableAsync(NpgsqlDataSource source, CancellationToken cancellationToken)
    {
        var giveUpAt = timeProvider.GetUtcNow() + options.StartupWait;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await MigrateAsync(source, cancellationToken);
            }
            catch (Exception ex) when (IsUnreachable(ex) && timeProvider.GetUtcNow() + RetryPause < giveUpAt)
            {
                logger.StoreUnreachable(Description, attempt, ex.Message);
                await Task.Delay(RetryPause, timeProvider, cancellationToken);
            }
        }
    }

    private static readonly TimeSpan RetryPause = TimeSpan.FromSeconds(1);

    /// <summary>The server could not be reached or is starting or shutting down; not a refusal (bad password, missing database).</summary>
    private static bool IsUnreachable(Exception ex) =>
        ex is TimeoutException
        || ex is PostgresException { SqlState: "57P03" /* cannot_connect_now: starting up */ or "57P01" /* admin_shutdown */ }
        || (ex is NpgsqlException { InnerException: System.Net.Sockets.SocketException or IOException or TimeoutException } and not PostgresException);

    /// <summary>
    /// Creates the schema and applies pending migrations in one transaction under an advisory lock, so
    /// aggregators starting together migrate once. Refuses a schema newer than this build knows.
    /// </summary>
    private async Task<int> MigrateAsync(NpgsqlDataSource source, CancellationToken cancellationToken)
    {
        var migrations = PostgresSchemaMigrations.All;
        var known = migrations[^1].Version;
        await using var connection = await source.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@space, 0)", connection, transaction))
        {
            lockCommand.Parameters.AddWithValue("space", AdvisoryLockSpace);
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }

        // The schema name is validated as a plain lower-case identifier at start-up; quoted all the same.
        await ExecuteAsync(connection, transaction, $"""
            CREATE SCHEMA IF NOT EXISTS "{options.Schema}";
            CREATE TABLE IF NOT EXISTS schema_version (
                version     integer PRIMARY KEY,
                description text    NOT NULL,
                applied_at  text    NOT NULL
            );
            """, cancellationToken);
        int current;
        await using (var read = new NpgsqlCommand("SELECT COALESCE(MAX(version), 0) FROM schema_version", connection, transaction))
        {
            current = Convert.ToInt32(await read.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
        }

        if (current > known)
        {
            logger.SchemaTooNew(Description, current, known);
            throw new StoreSchemaException(
                $"The store {Description} has schema version {current}, but this fleet-aggregator knows schema versions up to {known}. " +
                $"Refusing to start: run a fleet-aggregator release that knows version {current}.");
        }

        var applied = new List<SchemaMigration>();
        foreach (var migration in migrations.Where(m => m.Version > current))
        {
            await ExecuteAsync(connection, transaction, migration.Sql, cancellationToken);
            await using var record = new NpgsqlCommand("INSERT INTO schema_version (version, description, applied_at) VALUES (@version, @description, @appliedAt)", connection, transaction);
            record.Parameters.AddWithValue("version", migration.Version);
            record.Parameters.AddWithValue("description", migration.Description);
            record.Parameters.AddWithValue("appliedAt", timeProvider.GetUtcNow().ToString("o", CultureInfo.InvariantCulture));
            await record.ExecuteNonQueryAsync(cancellationToken);
            applied.Add(migration);
        }

        await transaction.CommitAsync(cancellationToken);
        foreach (var migration in applied)
        {
            logger.MigrationApplied(migration.Version, migration.Description, Description);
        }

        return Math.Max(current, known);
    }

    /// <summary>Runs <paramref name="work"/> in one transaction; without <paramref name="durable"/> the commit does not wait for the server's WAL flush.</summary>
    private async Task<T> WriteAsync<T>(bool durable, Func<NpgsqlConnection, NpgsqlTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        var source = Source();
        await using var connection = await source.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (!durable)
        {
            await ExecuteAsync(connection, transaction, "SET LOCAL synchronous_commit = off", cancellationToken);
        }

        var result = await work(connection, transaction);
        await transaction.CommitAsync(cancellationToken);
        return result;
    }

    /// <summary>Runs one query on a pooled connection and maps every row.</summary>
    private async Task<IReadOnlyList<T>> ReadAsync<T>(Action<NpgsqlCommand> build, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken)
    {
        await using var command = Source().CreateCommand();
        build(command);
        var result = new List<T>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            result.Add(read(reader));
        }

        return result;
    }

    private async Task<T> ScalarAsync<T>(string sql, Action<NpgsqlParameterCollection> bind, CancellationToken cancellationToken)
    {
        await using var command = Source().CreateCommand(sql);
        bind(command.Parameters);
        return (T)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static NpgsqlParameter Nullable(string name, NpgsqlDbType type, object? value) => new(name, type) { Value = value ?? DBNull.Value };

    private NpgsqlDataSource Source()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        return initialized ? dataSource! : throw new InvalidOperationException($"The store {Description} is not initialised: call InitializeAsync first (AddFleetStore does it at host start).");
    }

    public async ValueTask DisposeAsync()
    {
        await initLock.WaitAsync();
        try
        {
            if (disposed)
            {
                return;
            }

            disposed = true;
            if (dataSource is not null)
            {
                await dataSource.DisposeAsync();
                logger.StoreClosed(Description);
            }
        }
        finally
        {
            initLock.Release();
        }
    }
}
