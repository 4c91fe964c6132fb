using System.Diagnostics;

namespace Fleet.LocalFleet.Postgres;

/// <summary>
/// Waits for a condition with a deadline instead of sleeping and hoping. Exceptions from the probe
/// count as "not yet" (a replica still starting refuses connections), and the last one is reported on timeout.
/// </summary>
public static class Polling
{
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromMilliseconds(50);

    public static async Task UntilAsync(
        Func<CancellationToken, Task<bool>> condition,
        TimeSpan timeout,
        string description,
        CancellationToken cancellationToken = default)
    {
        var elapsed = Stopwatch.StartNew();
        Exception? lastError = null;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                if (await condition(cancellationToken))
                {
                    return;
                }

                lastError = null;
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                lastError = e;
            }

            if (elapsed.Elapsed >= timeout)
            {
                var detail = lastError is null ? "" : $" Last probe error: {lastError.GetType().Name}: {lastError.Message}";
                throw new TimeoutException($"Timed out after {timeout} waiting for {description}.{detail}", lastError);
            }

            await Task.Delay(DefaultInterval, cancellationToken);
        }
    }
}
