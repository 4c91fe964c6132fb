using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Fleet.Aggregator.Store;

/// <summary>
/// <see cref="IFleetStore"/> on one SQLite file in WAL mode. One writer connection, used under a
/// <see cref="SemaphoreSlim"/>, runs every write as one IMMEDIATE transaction (batches included) with
/// synchronous=NORMAL, switched to FULL for the writes that must survive a power cut (epochs, audit,
/// sequences). Queries run on a small pool of read-only connections. All SQL is constant text with
/// bound parameters. The partial files hold one area each (events, alerts, epochs, audit, retention).
/// </summary>
internal sealed partial class SqliteFleetStore : IFleetStore, IAsyncDisposable, IDisposable
{
    private readonly StoreOptions options;
    private readonly ILogger logger;
    private readonly TimeProvider timeProvider;
    private readonly SemaphoreSlim writeLock = new(1, 1);
    private readonly SemaphoreSlim initLock = new(1, 1);
    private SqliteConnection? writer;
    private SqliteReaderPool? readers;
    private volatile bool initialized;
    private bool disposed;

    static SqliteFleetStore()
    {
        // Microsoft.Data.Sqlite would find SQLitePCLRaw's bundle by reflection; initialising it here
        // explicitly keeps that working under trimming. Idempotent.
        SQLitePCL.Batteries_V2.Init();
    }

    public SqliteFleetStore(IOptions<StoreOptions> options, ILogger<SqliteFleetStore> logger, TimeProvider timeProvider, string? baseDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        this.options = options.Value;
        this.logger = logger;
        this.timeProvider = timeProvider;
        if (string.IsNullOrWhiteSpace(this.options.Path) || StoreOptionsValidator.IsInMemory(this.options.Path))
        {
            throw new ArgumentException($"Store:Path '{this.options.Path}' must be a database file path.", nameof(options));
        }

        DatabasePath = System.IO.Path.GetFullPath(this.options.Path, baseDirectory ?? Directory.GetCurrentDirectory());
    }

    /// <summary>Absolute path of the database file.</summary>
    public string DatabasePath { get; }

    /// <summary>Schema version of the file once initialised.</summary>
    public int SchemaVersion { get; private set; }

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

            var directory = System.IO.Path.GetDirectoryName(DatabasePath);
            if (!string.IsNullOrEmpty(directory))
            {
                Directory.CreateDirectory(directory);
            }

            var connection = new SqliteConnection(new SqliteConnectionStringBuilder
            {
                DataSource = DatabasePath,
                Mode = SqliteOpenMode.ReadWriteCreate,
                Pooling = false,
                DefaultTimeout = 30,
            }.ToString());
            try
            {
                connection.Open();
                ExecutePragma(connection, $"PRAGMA busy_timeout = {(int)options.BusyTimeout.TotalMilliseconds}");
                var journalMode = Convert.ToString(ExecutePragma(connection, "PRAGMA journal_mode = WAL"), System.Globalization.CultureInfo.InvariantCulture) ?? "?";
                if (!journalMode.Equals("wal", StringComparison.OrdinalIgnoreCase))
                {
                    throw new StoreSchemaException(
                        $"The store database '{DatabasePath}' could not be switched to WAL journal mode (got '{journalMode}'); " +
                        "put it on a local file system that supports shared memory.");
                }

                // Migrations are rare and must not be half-durable.
                ExecutePragma(connection, "PRAGMA synchronous = FULL");
                SchemaVersion = SchemaMigrator.Migrate(connection, DatabasePath, SchemaMigrations.All, timeProvider, logger);
                ExecutePragma(connection, "PRAGMA synchronous = NORMAL");
                // Bound the WAL file after checkpoints (64 MiB).
                ExecutePragma(connection, "PRAGMA journal_size_limit = 67108864");
                logger.StoreOpened(DatabasePath, SchemaVersion, journalMode);
            }
            catch (SqliteException ex)
            {
                connection.Dispose();
                throw new StoreSchemaException($"The store database '{DatabasePath}' could not be opened: {ex.Message}", ex);
            }
            catch
            {
                connection.Dispose();
                throw;
            }

            writer = connection;
            readers = new SqliteReaderPool(DatabasePath, options.ReaderConnections, options.BusyTimeout);
            initialized = true;
        }
        finally
        {
            initLock.Release();
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> in one IMMEDIATE transaction on the writer connection. With
    /// <paramref name="durable"/>, the commit runs with synchronous=FULL: the WAL is fsync'd before this returns.
    /// </summary>
    internal async Task<T> WriteAsync<T>(bool durable, Func<SqliteConnection, SqliteTransaction, T> work, CancellationToken cancellationToken)
    {
        EnsureInitialized();
        await writeLock.WaitAsync(cancellationToken);
        try
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            var connection = writer!;
            if (durable)
            {
                ExecutePragma(connection, "PRAGMA synchronous = FULL");
            }

            try
            {
                using var transaction = connection.BeginTransaction(deferred: false);
                var result = work(connection, transaction);
                transaction.Commit();
                return result;
            }
            finally
            {
                if (durable)
                {
                    ExecutePragma(connection, "PRAGMA synchronous = NORMAL");
                }
            }
        }
        finally
        {
            writeLock.Release();
        }
    }

    private Task<T> ReadAsync<T>(Func<SqliteConnection, T> read, CancellationToken cancellationToken)
    {
        EnsureInitialized();
        return readers!.ReadAsync(read, cancellationToken);
    }

    private static List<T> ReadAll<T>(SqliteCommand command, Func<SqliteDataReader, T> read)
    {
        var result = new List<T>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            result.Add(read(reader));
        }

        return result;
    }

    private void EnsureInitialized()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (!initialized)
        {
            throw new InvalidOperationException($"The store '{DatabasePath}' is not initialised: call InitializeAsync first (AddFleetStore does it at host start).");
        }
    }

    internal static object? ExecutePragma(SqliteConnection connection, string pragma)
    {
        using var command = connection.CreateCommand();
        command.CommandText = pragma;
        return command.ExecuteScalar();
    }

    public async ValueTask DisposeAsync()
    {
        await writeLock.WaitAsync();
        try
        {
            Close();
        }
        finally
        {
            writeLock.Release();
        }
    }

    public void Dispose()
    {
        writeLock.Wait();
        try
        {
            Close();
        }
        finally
        {
            writeLock.Release();
        }
    }

    private void Close()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        readers?.Dispose();
        if (writer is not null)
        {
            try
            {
                ExecutePragma(writer, "PRAGMA optimize");
            }
            catch (SqliteException)
            {
                // Best effort: statistics only.
            }

            writer.Dispose();
            logger.StoreClosed(DatabasePath);
        }
    }
}
