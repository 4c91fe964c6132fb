using System.Collections.Concurrent;

namespace Fleet.Aggregator.Failover;

/// <summary>
/// Work the controller starts from the ingest path without waiting for it (adoption, rejoin, repoint, saving the
/// published primary, lease grants): tracked, so a stopping host waits for it (bounded by the host's shutdown
/// timeout) instead of abandoning a command half-sent, and so its failures are observed.
/// </summary>
internal sealed class BackgroundWork
{
    private readonly ConcurrentDictionary<Task, byte> _running = new();

    /// <summary>Work still running.</summary>
    public int Count => _running.Count;

    public void Track(Task work)
    {
        if (work.IsCompleted)
        {
            _ = work.Exception; // observed: the work logs its own failures
            return;
        }

        _running[work] = 0;
        _ = work.ContinueWith(static (done, state) =>
        {
            _ = done.Exception;
            ((ConcurrentDictionary<Task, byte>)state!).TryRemove(done, out _);
        }, _running, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Waits until the work running now has ended, or <paramref name="cancellationToken"/> fires.</summary>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.WhenAll(_running.Keys).WaitAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Each piece of work logs its own failure; draining only waits.
        }
    }
}
