using Fleet.Aggregator.Store;
using Fleet.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fleet.Aggregator.Tests.Store;

/// <summary>A store on a database file in a fresh temporary directory, deleted on dispose.</summary>
internal sealed class TempStore : IAsyncDisposable
{
    private readonly List<SqliteFleetStore> opened = [];

    private TempStore(string directory)
    {
        Directory = directory;
        Options = new StoreOptions { Path = System.IO.Path.Combine(directory, "fleet-aggregator.db") };
    }

    public string Directory { get; }

    public StoreOptions Options { get; }

    public string Path => Options.Path;

    public TimeProvider Time { get; set; } = TimeProvider.System;

    /// <summary>The most recently opened store.</summary>
    public SqliteFleetStore Store { get; private set; } = null!;

    public static async Task<TempStore> CreateAsync(Action<StoreOptions>? configure = null)
    {
        var directory = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "fleet-store-tests", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        var temp = new TempStore(directory);
        configure?.Invoke(temp.Options);
        await temp.OpenAsync();
        return temp;
    }

    /// <summary>Opens (and initialises) another store instance on the same file.</summary>
    public async Task<SqliteFleetStore> OpenAsync()
    {
        var store = new SqliteFleetStore(Microsoft.Extensions.Options.Options.Create(Options), NullLogger<SqliteFleetStore>.Instance, Time);
        opened.Add(store);
        Store = store;
        await store.InitializeAsync(CancellationToken.None).DefaultTimeout();
        return store;
    }

    /// <summary>Closes the current store and opens a new instance on the same file: a process restart.</summary>
    public async Task<SqliteFleetStore> RestartAsync()
    {
        await Store.DisposeAsync();
        return await OpenAsync();
    }

    /// <summary>A separate read-write connection to the file, for inspecting or tampering with it.</summary>
    public SqliteConnection OpenRawConnection()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var store in opened)
        {
            await store.DisposeAsync();
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort; the OS temp directory is cleaned eventually.
        }
    }
}

/// <summary>A clock that tests set by hand.</summary>
internal sealed class ManualTimeProvider(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;

    public override DateTimeOffset GetUtcNow() => Now;
}
