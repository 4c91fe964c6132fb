namespace Fleet.Aggregator.Store;

/// <summary>Log messages of the store (event IDs 4100-4199).</summary>
internal static partial class StoreLog
{
    [LoggerMessage(EventId = 4100, EventName = "StoreOpened", Level = LogLevel.Information,
        Message = "Store opened: {Path} (schema version {SchemaVersion}, journal mode {JournalMode})")]
    public static partial void StoreOpened(this ILogger logger, string path, int schemaVersion, string journalMode);

    [LoggerMessage(EventId = 4101, EventName = "MigrationApplied", Level = LogLevel.Information,
        Message = "Store schema migrated to version {Version} ({Description}): {Path}")]
    public static partial void MigrationApplied(this ILogger logger, int version, string description, string path);

    [LoggerMessage(EventId = 4102, EventName = "StorePruned", Level = LogLevel.Information,
        Message = "Store pruned {Events} events, {AlertHistory} alert history entries and {ResolvedAlerts} resolved alerts older than {Cutoff:o} or beyond the row limits in {ElapsedMs} ms")]
    public static partial void Pruned(this ILogger logger, long events, long alertHistory, long resolvedAlerts, DateTimeOffset cutoff, long elapsedMs);

    [LoggerMessage(EventId = 4103, EventName = "StoreClosed", Level = LogLevel.Information,
        Message = "Store closed: {Path}")]
    public static partial void StoreClosed(this ILogger logger, string path);

    [LoggerMessage(EventId = 4104, EventName = "StoreSchemaTooNew", Level = LogLevel.Critical,
        Message = "Store refused to open {Path}: schema version {FileVersion} is newer than the {KnownVersion} this build knows")]
    public static partial void SchemaTooNew(this ILogger logger, string path, int fileVersion, int knownVersion);

    [LoggerMessage(EventId = 4105, EventName = "StoreUnreachable", Level = LogLevel.Warning,
        Message = "Store {Store} not reachable at start (attempt {Attempt}): {Reason}; trying again in 1 s until Store:Postgres:StartupWait")]
    public static partial void StoreUnreachable(this ILogger logger, string store, int attempt, string reason);
}
