namespace Fleet.Agent.Tests.Host;

/// <summary>Polling with a deadline: a condition the system reaches on its own, checked every few tens of milliseconds.</summary>
internal static class Eventually
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>Calls <paramref name="probe"/> until its result satisfies <paramref name="condition"/>; fails after <paramref name="timeout"/>, showing the last result.</summary>
    public static async Task<T> ReturnsAsync<T>(Func<Task<T>> probe, Func<T, bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        T last;
        while (true)
        {
            last = await probe();
            if (condition(last))
            {
                return last;
            }

            if (DateTime.UtcNow >= deadline)
            {
                break;
            }

            await Task.Delay(PollInterval);
        }

        Assert.Fail($"Timed out after {timeout.TotalSeconds:F0} s waiting for {what}. Last: {last}");
        return last;
    }

    /// <summary>Waits until <paramref name="condition"/> is true; fails after <paramref name="timeout"/>.</summary>
    public static async Task TrueAsync(Func<bool> condition, TimeSpan timeout, string what) =>
        await ReturnsAsync(() => Task.FromResult(condition()), ok => ok, timeout, what);
}
