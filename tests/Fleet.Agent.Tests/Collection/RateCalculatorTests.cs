using Fleet.Agent.Collection;

namespace Fleet.Agent.Tests.Collection;

/// <summary>Table-driven: each case is looked up by name, since the calculator's types are internal.</summary>
public sealed class RateCalculatorTests
{
    private static readonly DateTime ResetAt = new(2030, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    private static readonly DatabaseCounters Before = new(
        Commits: 1_000, Rollbacks: 10, BlocksHit: 9_000, BlocksRead: 1_000, Deadlocks: 2, TempBytes: 4_096, StatsReset: ResetAt);

    // After 10 s: counters, then expected commits/s, rollbacks/s, deadlocks/h, temp bytes/s, interval hit ratio, blocks read/s.
    private static readonly Dictionary<string, (DatabaseCounters After, double Commits, double Rollbacks, double DeadlocksPerHour, double TempBytes, double? HitRatio, double BlocksRead)> GrowthCases = new()
    {
        ["steady load"] = (Before with { Commits = 1_500, Rollbacks = 20, BlocksHit = 9_900, BlocksRead = 1_100, Deadlocks = 3, TempBytes = 14_336 },
                           50, 1, 360, 1_024, 0.9, 10),
        ["idle: no block access means no interval hit ratio"] = (Before, 0, 0, 0, 0, null, 0),
        ["all reads from disk"] = (Before with { BlocksRead = 1_500 }, 0, 0, 0, 0, 0, 50),
    };

    private static readonly Dictionary<string, DatabaseCounters> ResetCases = new()
    {
        ["pg_stat_reset: commits back to zero"] = Before with { Commits = 3 },
        ["rollbacks went backwards"] = Before with { Commits = 2_000, Rollbacks = 0 },
        ["blocks hit went backwards"] = Before with { BlocksHit = 10 },
        ["blocks read went backwards"] = Before with { BlocksRead = 10 },
        ["deadlocks went backwards"] = Before with { Deadlocks = 0 },
        ["temp bytes went backwards"] = Before with { TempBytes = 0 },
        ["stats_reset changed although counters grew past the old values"] = Before with { Commits = 5_000, StatsReset = ResetAt.AddMinutes(1) },
        ["stats_reset disappeared"] = Before with { StatsReset = null },
    };

    private static readonly Dictionary<string, (CpuTimes? Previous, CpuTimes Current, double? Percent)> CpuCases = new()
    {
        ["first sample"] = (null, new CpuTimes(50, 100), null),
        ["quarter busy"] = (new CpuTimes(50, 100), new CpuTimes(75, 200), 25.0),
        ["fully busy"] = (new CpuTimes(50, 100), new CpuTimes(150, 200), 100.0),
        ["no time passed"] = (new CpuTimes(50, 100), new CpuTimes(50, 100), null),
        ["counters reset"] = (new CpuTimes(50, 100), new CpuTimes(10, 300), null),
    };

    public static TheoryData<string> Growth => [.. GrowthCases.Keys];

    public static TheoryData<string> Resets => [.. ResetCases.Keys];

    public static TheoryData<string> Cpu => [.. CpuCases.Keys];

    [Theory]
    [MemberData(nameof(Growth))]
    public void Compute_CountersGrew_ReturnsPerIntervalRates(string name)
    {
        var expected = GrowthCases[name];

        var rates = RateCalculator.Compute(Before, expected.After, TimeSpan.FromSeconds(10));

        Assert.True(rates.HasValue, name);
        Assert.Equal(expected.Commits, rates.Value.CommitsPerSecond, 9);
        Assert.Equal(expected.Rollbacks, rates.Value.RollbacksPerSecond, 9);
        Assert.Equal(expected.DeadlocksPerHour, rates.Value.DeadlocksPerHour, 9);
        Assert.Equal(expected.TempBytes, rates.Value.TempBytesPerSecond, 9);
        Assert.Equal(expected.HitRatio, rates.Value.IntervalHitRatio);
        Assert.Equal(expected.BlocksRead, rates.Value.BlocksReadPerSecond, 9);
    }

    [Theory]
    [MemberData(nameof(Resets))]
    public void Compute_CountersReset_ReturnsNoRatesRatherThanNegativeOnes(string name)
    {
        var after = ResetCases[name];

        Assert.True(RateCalculator.WasReset(Before, after), name);
        Assert.Null(RateCalculator.Compute(Before, after, TimeSpan.FromSeconds(10)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Compute_NoElapsedTime_ReturnsNull(int seconds) =>
        Assert.Null(RateCalculator.Compute(Before, Before with { Commits = 2_000 }, TimeSpan.FromSeconds(seconds)));

    [Theory]
    [InlineData(0UL, 0UL, null)]
    [InlineData(99UL, 1UL, 0.99)]
    [InlineData(0UL, 5UL, 0.0)]
    public void HitRatio_IsHitsOverAllAccesses(ulong hit, ulong read, double? expected) =>
        Assert.Equal(expected, RateCalculator.HitRatio(hit, read));

    [Theory]
    [MemberData(nameof(Cpu))]
    public void CpuPercent_FromBusyAndTotalDeltas(string name)
    {
        var (previous, current, expected) = CpuCases[name];

        Assert.Equal(expected, RateCalculator.CpuPercent(previous, current));
    }
}
