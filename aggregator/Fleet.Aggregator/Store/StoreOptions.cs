namespace Fleet.Aggregator.Store;

/// <summary>Settings of the durable store, bound from the "Store" configuration section.</summary>
public sealed class StoreOptions
{
    public const string SectionName = "Store";

    /// <summary>
    /// Where history lives: <see cref="StoreProvider.Sqlite"/> (a file beside this aggregator, the default)
    /// or <see cref="StoreProvider.Postgres"/> (one database shared by a region's aggregators, for
    /// Coordination:Mode Etcd, so events, alerts and audit survive a leader change).
    /// </summary>
    public StoreProvider Provider { get; set; } = StoreProvider.Sqlite;

    /// <summary>The PostgreSQL database of <see cref="StoreProvider.Postgres"/>.</summary>
    public PostgresStoreOptions Postgres { get; set; } = new();

    /// <summary>
    /// SQLite database file. A relative path is taken from the host's content root (the working
    /// directory). Its directory is created if missing. In-memory databases are refused.
    /// </summary>
    public string Path { get; set; } = System.IO.Path.Combine("data", "fleet-aggregator.db");

    /// <summary>Events and resolved-alert history older than this are pruned.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>At most this many events are kept; the oldest beyond it are pruned.</summary>
    public long MaxEvents { get; set; } = 1_000_000;

    /// <summary>At most this many alert history entries are kept; the oldest beyond it are pruned.</summary>
    public long MaxAlertHistory { get; set; } = 200_000;

    /// <summary>How long a statement waits for a lock held by another connection before failing.</summary>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Read-only connections for queries, used in parallel with the single writer (SQLite).</summary>
    public int ReaderConnections { get; set; } = 4;
}

/// <summary>Which database holds the aggregator's history.</summary>
public enum StoreProvider
{
    /// <summary>A SQLite file of this aggregator (Store:Path).</summary>
    Sqlite,

    /// <summary>A PostgreSQL database shared by the region's aggregators (Store:Postgres:*).</summary>
    Postgres,
}

/// <summary>Settings of the shared PostgreSQL store, bound from "Store:Postgres".</summary>
public sealed class PostgresStoreOptions
{
    /// <summary>
    /// Npgsql connection string (Host, Port, Database, Username; SSL Mode and Root Certificate for TLS).
    /// Leave the password out: Npgsql reads PGPASSWORD or the passfile (Passfile=, PGPASSFILE,
    /// ~/.pgpass). The connection string is never logged; errors name only host, port and database.
    /// </summary>
    public string ConnectionString { get; set; } = string.Empty;

    /// <summary>Schema holding Fleet's tables, created if missing: one per region when regions share a server.</summary>
    public string Schema { get; set; } = "fleet";

    /// <summary>Most connections this aggregator opens to the store.</summary>
    public int MaxConnections { get; set; } = 8;

    /// <summary>How long one statement may run before it is cancelled.</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// At start, how long to keep trying to reach a server that is not (yet) reachable before start-up
    /// fails: aggregators and their database are often started together.
    /// </summary>
    public TimeSpan StartupWait { get; set; } = TimeSpan.FromSeconds(60);
}
