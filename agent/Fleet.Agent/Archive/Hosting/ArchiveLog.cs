using Fleet.Protos.V1;

namespace Fleet.Agent.Archive.Hosting;

/// <summary>Log messages of WAL archive verification.</summary>
internal static partial class ArchiveLog
{
    [LoggerMessage(EventId = 700, EventName = "ArchiveVerificationDisabled", Level = LogLevel.Information,
        Message = "WAL archive verification is off: Archive:Location is not set")]
    public static partial void Disabled(ILogger logger);

    [LoggerMessage(EventId = 701, EventName = "ArchiveVerificationStarted", Level = LogLevel.Information,
        Message = "Verifying WAL archive {Location} every {Interval} (deep every {DeepInterval}, zero = never)")]
    public static partial void LoopStarted(ILogger logger, string location, TimeSpan interval, TimeSpan deepInterval);

    [LoggerMessage(EventId = 702, EventName = "ArchiveVerified", Level = LogLevel.Debug,
        Message = "WAL archive {Verdict}: {Segments} segments ({FromCache} unchanged since the last run), {FilesRead} files and {BytesRead} bytes read in {Seconds:0.000} s, deep={Deep}")]
    public static partial void Verified(ILogger logger, ArchiveVerdict verdict, ulong segments, int fromCache, int filesRead, long bytesRead, double seconds, bool deep);

    [LoggerMessage(EventId = 703, EventName = "ArchiveVerdictChanged", Level = LogLevel.Warning,
        Message = "WAL archive verdict {Previous} -> {Verdict}: {Code}: {Problem}")]
    public static partial void VerdictChanged(ILogger logger, ArchiveVerdict previous, ArchiveVerdict verdict, string code, string problem);

    [LoggerMessage(EventId = 704, EventName = "ArchiveVerdictRecovered", Level = LogLevel.Information,
        Message = "WAL archive verdict {Previous} -> OK")]
    public static partial void VerdictRecovered(ILogger logger, ArchiveVerdict previous);

    [LoggerMessage(EventId = 705, EventName = "ArchiveVerificationError", Level = LogLevel.Error,
        Message = "WAL archive verification failed unexpectedly")]
    public static partial void VerificationError(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 706, EventName = "ArchiveCacheUnavailable", Level = LogLevel.Warning,
        Message = "Archive:CacheFile {Path} could not be {Action}; verified segments are kept in memory only")]
    public static partial void CacheUnavailable(ILogger logger, string path, string action, Exception exception);

    [LoggerMessage(EventId = 707, EventName = "ArchiveCacheLoaded", Level = LogLevel.Information,
        Message = "Loaded {Count} verified segments from {Path}")]
    public static partial void CacheLoaded(ILogger logger, int count, string path);
}
