using System.Diagnostics;
using System.Runtime;
using Fleet.Bench.Rpc.Servers;

namespace Fleet.Bench.Rpc.Scenarios;

/// <summary>
/// Warm-up until the JIT has settled: the load runs for the minimum warm-up, then in one-second slices
/// until a slice in which neither the client nor the (Fleet) server compiled for more than
/// <see cref="SettledJitPerSlice"/>, or the maximum warm-up is reached. Tiered compilation (with dynamic
/// PGO) keeps recompiling hot methods for several seconds, longer on a busy machine.
/// </summary>
internal static class Warmup
{
    public static readonly TimeSpan Slice = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan SettledJitPerSlice = TimeSpan.FromMilliseconds(20);

    /// <summary>Runs <paramref name="load"/> (which applies the load for the given time) until warm.</summary>
    public static async Task<WarmupResult> RunAsync(Func<TimeSpan, Task> load, IBenchServer server, BenchOptions options)
    {
        if (options.Warmup <= TimeSpan.Zero)
        {
            return new WarmupResult(TimeSpan.Zero, Settled: false);
        }

        var started = Stopwatch.GetTimestamp();
        await load(options.Warmup);

        // Bounded by the maximum warm-up.
        while (Stopwatch.GetElapsedTime(started) + Slice <= options.MaxWarmup)
        {
            var client = JitInfo.GetCompilationTime();
            var serverStart = await server.GetJitTimeAsync();
            await load(Slice);
            var clientJit = JitInfo.GetCompilationTime() - client;
            var serverJit = await server.GetJitTimeAsync() - serverStart;
            if (clientJit <= SettledJitPerSlice && (serverJit is null || serverJit <= SettledJitPerSlice))
            {
                return new WarmupResult(Stopwatch.GetElapsedTime(started), Settled: true);
            }
        }

        return new WarmupResult(Stopwatch.GetElapsedTime(started), Settled: false);
    }
}

/// <summary>How long the warm-up ran and whether the JIT had settled by its end.</summary>
internal readonly record struct WarmupResult(TimeSpan Duration, bool Settled);
