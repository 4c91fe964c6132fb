namespace Fleet.Agent.Collection;

/// <summary>Cumulative pg_stat_database counters of one database at one sample.</summary>
internal readonly record struct DatabaseCounters(
    ulong Commits,
    ulong Rollbacks,
    ulong BlocksHit,
    ulong BlocksRead,
    ulong Deadlocks,
    ulong TempBytes,
    DateTime? StatsReset = null);

/// <summary>Rates of one database over one interval.</summary>
internal readonly record struct DatabaseRates(
    double CommitsPerSecond,
    double RollbacksPerSecond,
    double DeadlocksPerHour,
    double TempBytesPerSecond,
    double? IntervalHitRatio,
    double BlocksReadPerSecond = 0);

/// <summary>Cumulative CPU time from /proc/stat (or a cgroup), in any one unit.</summary>
internal readonly record struct CpuTimes(ulong Busy, ulong Total);

/// <summary>
/// Rates from counter deltas; pure. A counter that went backwards (pg_stat_reset, a crash restart that
/// discarded statistics, a replica promoted with fresh counters) or a changed stats_reset means the
/// counters were reset: no rate is given for that interval rather than a negative or bogus one.
/// </summary>
internal static class RateCalculator
{
    private const double SecondsPerHour = 3600;

    /// <summary>Rates between two samples taken <paramref name="elapsed"/> apart; null when they cannot be trusted.</summary>
    public static DatabaseRates? Compute(DatabaseCounters previous, DatabaseCounters current, TimeSpan elapsed)
    {
        if (elapsed <= TimeSpan.Zero || WasReset(previous, current))
        {
            return null;
        }

        var seconds = elapsed.TotalSeconds;
        var hit = current.BlocksHit - previous.BlocksHit;
        var read = current.BlocksRead - previous.BlocksRead;
        return new DatabaseRates(
            (current.Commits - previous.Commits) / seconds,
            (current.Rollbacks - previous.Rollbacks) / seconds,
            (current.Deadlocks - previous.Deadlocks) / seconds * SecondsPerHour,
            (current.TempBytes - previous.TempBytes) / seconds,
            HitRatio(hit, read),
            read / seconds);
    }

    /// <summary>True when any counter decreased or the statistics were reset in between.</summary>
    public static bool WasReset(DatabaseCounters previous, DatabaseCounters current) =>
        current.Commits < previous.Commits ||
        current.Rollbacks < previous.Rollbacks ||
        current.BlocksHit < previous.BlocksHit ||
        current.BlocksRead < previous.BlocksRead ||
        current.Deadlocks < previous.Deadlocks ||
        current.TempBytes < previous.TempBytes ||
        current.StatsReset != previous.StatsReset;

    /// <summary>hit / (hit + read), 0..1; null when no block was accessed.</summary>
    public static double? HitRatio(ulong hit, ulong read)
    {
        var total = (double)hit + read;
        return total > 0 ? hit / total : null;
    }

    /// <summary>Busy share of CPU time between two samples, 0..100; null on the first sample, a reset or no elapsed time.</summary>
    public static double? CpuPercent(CpuTimes? previous, CpuTimes current)
    {
        if (previous is not { } before || current.Total <= before.Total || current.Busy < before.Busy)
        {
            return null;
        }

        var busy = (double)(current.Busy - before.Busy);
        var total = (double)(current.Total - before.Total);
        return Math.Clamp(busy / total * 100, 0, 100);
    }
}
