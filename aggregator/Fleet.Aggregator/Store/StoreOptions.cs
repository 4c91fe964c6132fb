namespace Fleet.Aggregator.Store;

/// <summary>Settings of the durable store, bound from the "Store" configuration section.</summary>
public sealed class StoreOptions
{
    public const string SectionName = "Store";

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

    /// <summary>Read-only connections for queries, used in parallel with the single writer.</summary>
    public int ReaderConnections { get; set; } = 4;
}
