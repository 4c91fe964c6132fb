using Fleet.Aggregator.State;

namespace Fleet.Aggregator.Failover;

/// <summary>
/// Operator decisions judge nodes on current reports. Agents report every report interval, but one report
/// late by a fraction of a second (a slow pg_stat query, a GC pause, a loaded host) would otherwise make a
/// connected candidate "not reachable" or a healthy primary "not healthy" for a human's request. So the
/// request first waits until every connected node of the cluster that is late (silent longer than the
/// silent-after time but not yet stale) has reported again, at most until the late ones turn stale. A
/// node that is disconnected or stale is not waited for: it stays unreachable.
/// </summary>
internal static class CurrentReports
{
    /// <summary>
    /// Null when no connected node of <paramref name="records"/> is late but not yet stale; otherwise the
    /// moment the last of the late ones turns stale (waiting longer for them is pointless).
    /// </summary>
    public static DateTimeOffset? LateUntil(IReadOnlyList<NodeRecord> records, DateTimeOffset now, TimeSpan silentAfter, TimeSpan staleAfter)
    {
        ArgumentNullException.ThrowIfNull(records);
        DateTimeOffset? until = null;
        foreach (var record in records)
        {
            var silentFor = now - record.LastActivity;
            if (record.Connected && silentFor > silentAfter && silentFor <= staleAfter)
            {
                var staleAt = record.LastActivity + staleAfter;
                until = until is { } later && later > staleAt ? later : staleAt;
            }
        }

        return until;
    }

    /// <summary>
    /// Waits until no node of <paramref name="cluster"/> is late (re-checked on each change of one of its
    /// nodes), or until the late ones have turned stale. Returns whether every late node reported.
    /// </summary>
    public static async Task<bool> WaitAsync(FleetState fleet, string cluster, TimeSpan silentAfter, TimeSpan staleAfter, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(fleet);
        ArgumentNullException.ThrowIfNull(time);
        if (LateUntil(fleet.ClusterNodes(cluster), time.GetUtcNow(), silentAfter, staleAfter) is null)
        {
            return true;
        }

        var signal = NewSignal();
        void OnChanged(NodeRecord? previous, NodeRecord record)
        {
            if (string.Equals(record.Key.Cluster, cluster, StringComparison.Ordinal))
            {
                Volatile.Read(ref signal).TrySetResult();
            }
        }

        fleet.Changed += OnChanged;
        try
        {
            while (true)
            {
                var now = time.GetUtcNow();
                if (LateUntil(fleet.ClusterNodes(cluster), now, silentAfter, staleAfter) is not { } until)
                {
                    return true;
                }

                try
                {
                    await Volatile.Read(ref signal).Task.WaitAsync(until - now, time, cancellationToken).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    // The timer runs on the monotonic clock and may end a moment before the wall clock reaches
                    // `until`: wait out the rest, so "gave up" always means the late nodes are stale by the clock.
                    var after = time.GetUtcNow();
                    if (LateUntil(fleet.ClusterNodes(cluster), after, silentAfter, staleAfter) is { } still && still >= after)
                    {
                        continue;
                    }

                    return false;
                }

                // Re-armed before the re-check, so a change after the check still wakes the next wait.
                Volatile.Write(ref signal, NewSignal());
            }
        }
        finally
        {
            fleet.Changed -= OnChanged;
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
