using System.Diagnostics;
using Grpc.Core;

namespace Fleet.EndToEnd.Tests.Infrastructure;

/// <summary>
/// Waits for a condition of the running fleet with a deadline: probes, checks, probes again. A probe
/// that fails with an RPC error (a restarting aggregator) counts as "not yet". On timeout the message
/// names what was awaited and shows the last value seen.
/// </summary>
internal static class Poll
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    public static async Task<T> UntilAsync<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, string what, Func<T, string>? describe = null)
    {
        var clock = Stopwatch.StartNew();
        var last = "(nothing yet)";
        while (true)
        {
            var remaining = timeout - clock.Elapsed;
            if (remaining <= TimeSpan.Zero)
            {
                throw new TimeoutException($"Waited {timeout.TotalSeconds:F0} s for {what}; last seen: {last}");
            }

            try
            {
                var value = await probe().WaitAsync(remaining);
                if (done(value))
                {
                    return value;
                }

                last = describe?.Invoke(value) ?? value?.ToString() ?? "null";
            }
            catch (RpcException ex)
            {
                last = $"RPC failed: {ex.Status}";
            }
            catch (HttpRequestException ex)
            {
                last = $"HTTP request failed: {ex.Message}";
            }
            catch (TimeoutException)
            {
                continue;
            }

            await Task.Delay(Interval);
        }
    }
}
