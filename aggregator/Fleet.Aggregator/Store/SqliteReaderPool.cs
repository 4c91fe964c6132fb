using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;

namespace Fleet.Aggregator.Store;

/// <summary>
/// A fixed number of read-only connections (opened lazily, reused). In WAL mode readers see the last
/// committed state and never block the writer or each other. Read-only also means a query can never
/// change the database, whatever its text.
/// </summary>
internal sealed class SqliteReaderPool : IDisposable
{
    private readonly string connectionString;
    private readonly int busyTimeoutMs;
    private readonly SemaphoreSlim slots;
    private readonly ConcurrentBag<SqliteConnection> idle = [];
    private readonly Lock gate = new();
    private bool disposed;

    public SqliteReaderPool(string path, int size, TimeSpan busyTimeout)
    {
        connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = false,
            DefaultTimeout = 30,
        }.ToString();
        busyTimeoutMs = (int)busyTimeout.TotalMilliseconds;
        slots = new SemaphoreSlim(size, size);
    }

    public async Task<T> ReadAsync<T>(Func<SqliteConnection, T> read, CancellationToken cancellationToken)
    {
        await slots.WaitAsync(cancellationToken);
        SqliteConnection? connection = null;
        try
        {
            lock (gate)
            {
                ObjectDisposedException.ThrowIf(disposed, this);
            }

            connection = idle.TryTake(out var pooled) ? pooled : Open();
            return read(connection);
        }
        finally
        {
            if (connection is not null)
            {
                Return(connection);
            }

            slots.Release();
        }
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            connection.Open();
            SqliteFleetStore.ExecutePragma(connection, $"PRAGMA busy_timeout = {busyTimeoutMs}");
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private void Return(SqliteConnection connection)
    {
        lock (gate)
        {
            if (!disposed)
            {
                idle.Add(connection);
                return;
            }
        }

        connection.Dispose();
    }

    public void Dispose()
    {
        lock (gate)
        {
            disposed = true;
        }

        while (idle.TryTake(out var connection))
        {
            connection.Dispose();
        }
    }
}
