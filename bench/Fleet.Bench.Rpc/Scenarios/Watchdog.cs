namespace Fleet.Bench.Rpc.Scenarios;

internal static class Watchdog
{
    /// <summary>How long past its duration a phase may run before the benchmark gives up on it (TimeoutException).</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(30);
}
