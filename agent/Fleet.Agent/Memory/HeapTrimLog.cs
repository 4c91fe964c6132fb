namespace Fleet.Agent.Memory;

internal static partial class HeapTrimLog
{
    [LoggerMessage(EventId = 3101, EventName = "HeapTrimStarted", Level = LogLevel.Debug,
        Message = "Heap trimming: gen0 budget {Gen0Budget} bytes, compaction every {CompactInterval} (first after {FirstCompaction})")]
    public static partial void Started(ILogger logger, long gen0Budget, TimeSpan compactInterval, TimeSpan firstCompaction);

    [LoggerMessage(EventId = 3102, EventName = "HeapTrimDisabled", Level = LogLevel.Information,
        Message = "Heap trimming is off (Memory:Gen0Budget 0, Memory:CompactInterval 00:00:00): the runtime's own GC budgets apply")]
    public static partial void Disabled(ILogger logger);

    [LoggerMessage(EventId = 3103, EventName = "HeapCompacted", Level = LogLevel.Debug,
        Message = "Heap compacted and native memory trimmed in {Milliseconds:F1} ms: resident {ResidentBefore} -> {ResidentAfter} bytes, managed heap {HeapAfter} bytes")]
    public static partial void Compacted(ILogger logger, double milliseconds, long residentBefore, long residentAfter, long heapAfter);

    [LoggerMessage(EventId = 3104, EventName = "MmapThreshold", Level = LogLevel.Debug,
        Message = "Native blocks of {Bytes} bytes and more are mapped on their own (glibc mmap threshold): {Applied}")]
    public static partial void MmapThreshold(ILogger logger, int bytes, bool applied);
}
