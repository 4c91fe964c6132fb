using Fleet.Aggregator.Store;
using Fleet.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fleet.Aggregator.Tests.Store;

/// <summary>A store under test, fresh for each test, removed on dispose: a SQLite file or a PostgreSQL schema.</summary>
internal abstract class TempStore : IAsyncDisposable
{
    private readonly List<IFleetStore> opened = [];

    public StoreOptions Options { get; } = new();

    public TimeProvider Time { get; set; } = TimeProvider.System;

    /// <summary>The most recently opened store.</summary>
    public IFleetStore Store { get; private set; } = null!;

    /// <summary>Opens (and initialises) another store instance on the same database: another aggregator, or the next process.</summary>
    public async Task<IFleetStore> OpenAsync()
    {
        var store = Create();
        opened.Add(store);
        Store = store;
        await store.InitializeAsync(CancellationToken.None).DefaultTimeout();
        return store;
    }

    /// <summary>Closes the current store and opens a new instance on the same database: a process restart.</summary>
    public async Task<IFleetStore> RestartAsync()
    {
        await ((IAsyncDisposable)Store).DisposeAsync();
        return await OpenAsync();
    }

    protected abstract IFleetStore Create();

    protected abstract ValueTask RemoveAsync();

    public async ValueTask DisposeAsync()
    {
        foreach (var store in opened)
        {
            await ((IAsyncDisposable)store).DisposeAsync();
        }

        await RemoveAsync();
    }
}

/// <summary>A SQLite store on a database file in a fresh temporary directory, deleted on dispose.</summary>
internal sealed class SqliteTempStore : TempStore
{
    private SqliteTempStore(string directory)
    {
        Directory = directory;
        Options.Path = System.IO.Path.Combine(directory, "fleet-aggregator.db");
    }

    public string Directory { get; }

    public string Path => Options.Path;

    public SqliteFleetStore SqliteStore => (SqliteFleetStore)Store;

    public static async Task<SqliteTempStore> CreateAsync(Action<StoreOptions>? configure = null)
    {
        var directory = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "fleet-store-tests", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        var temp = new SqliteTempStore(directory);
        configure?.Invoke(temp.Options);
        await temp.OpenAsync();
        return temp;
    }

    /// <summary>A separate read-write connection to the file, for inspecting or tampering with it.</summary>
    public SqliteConnection OpenRawConnection()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    protected override IFleetStore Create() =>
        new SqliteFleetStore(Microsoft.Extensions.Options.Options.Create(Options), NullLogger<SqliteFleetStore>.Instance, Time);

    protected override ValueTask RemoveAsync()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort; the OS temp directory is cleaned eventually.
        }

        return ValueTask.CompletedTask;
    }
}

/// <summary>A PostgreSQL store in a fresh schema of the shared test server, dropped on dispose.</summary>
internal sealed class PostgresTempStore : TempStore
{
    private readonly PostgresStoreServer server;

    private PostgresTempStore(PostgresStoreServer server)
    {
        this.server = server;
        Options.Provider = StoreProvider.Postgres;
        Options.Postgres.ConnectionString = server.ConnectionString;
        Options.Postgres.Schema = "t_" + Guid.NewGuid().ToString("N");
    }

    public static async Task<PostgresTempStore> CreateAsync(PostgresStoreServer server, Action<StoreOptions>? configure = null)
    {
        var temp = new PostgresTempStore(server);
        configure?.Invoke(temp.Options);
        await temp.OpenAsync();
        return temp;
    }

    protected override IFleetStore Create() =>
        new PostgresFleetStore(Microsoft.Extensions.Options.Options.Create(Options), NullLogger<PostgresFleetStore>.Instance, Time);

    protected override ValueTask RemoveAsync() => server.DropSchemaAsync(Options.Postgres.Schema);
}

/// <summary>A clock that tests set by hand.</summary>
internal sealed class ManualTimeProvider(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;

    public override DateTimeOffset GetUtcNow() => Now;
}
