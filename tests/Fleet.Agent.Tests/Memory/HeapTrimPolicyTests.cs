using Fleet.Agent.Memory;

namespace Fleet.Agent.Tests.Memory;

public sealed class HeapTrimPolicyTests
{
    private const long MiB = 1024 * 1024;
    private static readonly TimeSpan FiveMinutes = TimeSpan.FromMinutes(5);

    [Fact]
    public void Decide_BudgetSpentWithoutACollection_AsksForGen0()
    {
        var policy = new HeapTrimPolicy(MiB, TimeSpan.Zero);

        Assert.Equal(HeapAction.None, policy.Decide(At(1, allocated: 10 * MiB, gen0: 4)));
        Assert.Equal(HeapAction.None, policy.Decide(At(2, allocated: (11 * MiB) - 1, gen0: 4)));
        Assert.Equal(HeapAction.CollectGen0, policy.Decide(At(3, allocated: 11 * MiB, gen0: 4)));
    }

    [Fact]
    public void Decide_AnyGen0Collection_StartsANewBudget()
    {
        var policy = new HeapTrimPolicy(MiB, TimeSpan.Zero);
        policy.Decide(At(1, allocated: 0, gen0: 0));

        // The runtime (or our last request) collected in between: the budget counts from this reading.
        Assert.Equal(HeapAction.None, policy.Decide(At(2, allocated: 3 * MiB, gen0: 1)));
        Assert.Equal(HeapAction.None, policy.Decide(At(3, allocated: (4 * MiB) - 1, gen0: 1)));
        Assert.Equal(HeapAction.CollectGen0, policy.Decide(At(4, allocated: 4 * MiB, gen0: 1)));
    }

    [Fact]
    public void Decide_RequestedCollectionDidNotHappen_AsksAgain()
    {
        var policy = new HeapTrimPolicy(MiB, TimeSpan.Zero);
        policy.Decide(At(1, allocated: 0, gen0: 7));

        Assert.Equal(HeapAction.CollectGen0, policy.Decide(At(2, allocated: 2 * MiB, gen0: 7)));
        Assert.Equal(HeapAction.CollectGen0, policy.Decide(At(3, allocated: 2 * MiB, gen0: 7)));
        Assert.Equal(HeapAction.None, policy.Decide(At(4, allocated: 2 * MiB, gen0: 8)));
    }

    [Fact]
    public void Decide_Compaction_FirstAfterStartUpThenEveryInterval()
    {
        var policy = new HeapTrimPolicy(0, FiveMinutes);
        var first = HeapTrimPolicy.FirstCompaction;

        Assert.Equal(HeapAction.None, policy.Decide(At(first - TimeSpan.FromSeconds(1))));
        Assert.Equal(HeapAction.Compact, policy.Decide(At(first)));
        Assert.Equal(HeapAction.None, policy.Decide(At(first + TimeSpan.FromSeconds(1))));
        Assert.Equal(HeapAction.None, policy.Decide(At(first + FiveMinutes - TimeSpan.FromSeconds(1))));
        Assert.Equal(HeapAction.Compact, policy.Decide(At(first + FiveMinutes)));
    }

    [Fact]
    public void Decide_LateTick_CompactsOnceAndCountsTheIntervalFromThen()
    {
        // A stalled process (stopped, swapped) wakes long past several intervals: one compaction, not a burst.
        var policy = new HeapTrimPolicy(0, FiveMinutes);
        var late = TimeSpan.FromHours(1);

        Assert.Equal(HeapAction.Compact, policy.Decide(At(late)));
        Assert.Equal(HeapAction.None, policy.Decide(At(late + TimeSpan.FromSeconds(1))));
        Assert.Equal(HeapAction.Compact, policy.Decide(At(late + FiveMinutes)));
    }

    [Fact]
    public void Decide_CompactIntervalShorterThanStartUp_FirstCompactionAfterOneInterval()
    {
        var policy = new HeapTrimPolicy(0, TimeSpan.FromSeconds(10));

        Assert.Equal(HeapAction.None, policy.Decide(At(TimeSpan.FromSeconds(9))));
        Assert.Equal(HeapAction.Compact, policy.Decide(At(TimeSpan.FromSeconds(10))));
    }

    [Fact]
    public void Decide_CompactionAndBudgetDueTogether_CompactsOnly()
    {
        // A full compacting collection includes gen0, so asking for both would collect twice.
        var policy = new HeapTrimPolicy(MiB, FiveMinutes);
        policy.Decide(At(TimeSpan.FromSeconds(1), allocated: 0, gen0: 0));

        Assert.Equal(HeapAction.Compact, policy.Decide(At(HeapTrimPolicy.FirstCompaction, allocated: 5 * MiB, gen0: 0)));
        Assert.Equal(HeapAction.None, policy.Decide(At(HeapTrimPolicy.FirstCompaction + TimeSpan.FromSeconds(1), allocated: 5 * MiB, gen0: 1)));
    }

    [Fact]
    public void Decide_ResidentGrewByTheThresholdAfterTheFirstCompaction_CompactsAtOnce()
    {
        var policy = new HeapTrimPolicy(0, FiveMinutes, trimGrowth: 4 * MiB);
        var first = HeapTrimPolicy.FirstCompaction;

        Assert.Equal(HeapAction.Compact, policy.Decide(Resident(first, 60 * MiB)));
        // What the compaction left is the base: 57 MiB.
        Assert.Equal(HeapAction.None, policy.Decide(Resident(first + TimeSpan.FromSeconds(1), 57 * MiB)));
        Assert.Equal(HeapAction.None, policy.Decide(Resident(first + TimeSpan.FromSeconds(2), (61 * MiB) - 1)));
        Assert.Equal(HeapAction.Compact, policy.Decide(Resident(first + TimeSpan.FromSeconds(3), 61 * MiB)));
        // Growth that stays (live data) becomes the new base instead of compacting every second.
        Assert.Equal(HeapAction.None, policy.Decide(Resident(first + TimeSpan.FromSeconds(4), 61 * MiB)));
        Assert.Equal(HeapAction.None, policy.Decide(Resident(first + TimeSpan.FromSeconds(5), 64 * MiB)));
        // The schedule restarts from the growth compaction.
        Assert.Equal(HeapAction.None, policy.Decide(Resident(first + TimeSpan.FromSeconds(3) + FiveMinutes - TimeSpan.FromSeconds(1), 61 * MiB)));
        Assert.Equal(HeapAction.Compact, policy.Decide(Resident(first + TimeSpan.FromSeconds(3) + FiveMinutes, 61 * MiB)));
    }

    [Fact]
    public void Decide_GrowthDuringStartUp_WaitsForTheFirstScheduledCompaction()
    {
        var policy = new HeapTrimPolicy(0, FiveMinutes, trimGrowth: 4 * MiB);

        Assert.Equal(HeapAction.None, policy.Decide(Resident(TimeSpan.FromSeconds(1), 20 * MiB)));
        Assert.Equal(HeapAction.None, policy.Decide(Resident(TimeSpan.FromSeconds(2), 60 * MiB)));
        Assert.Equal(HeapAction.Compact, policy.Decide(Resident(HeapTrimPolicy.FirstCompaction, 60 * MiB)));
    }

    [Fact]
    public void Decide_ResidentUnknown_CompactsOnScheduleOnly()
    {
        var policy = new HeapTrimPolicy(0, FiveMinutes, trimGrowth: 4 * MiB);
        var first = HeapTrimPolicy.FirstCompaction;
        policy.Decide(Resident(first, 0));

        Assert.Equal(HeapAction.None, policy.Decide(Resident(first + TimeSpan.FromSeconds(1), 0)));
        Assert.Equal(HeapAction.None, policy.Decide(Resident(first + TimeSpan.FromSeconds(2), 500 * MiB)));
    }

    [Fact]
    public void Decide_CompactionOff_GrowthNeverCompacts()
    {
        var policy = new HeapTrimPolicy(MiB, TimeSpan.Zero, trimGrowth: 4 * MiB);

        for (var second = 1; second < 600; second += 30)
        {
            Assert.NotEqual(HeapAction.Compact, policy.Decide(Resident(TimeSpan.FromSeconds(second), second * MiB)));
        }
    }

    [Fact]
    public void Decide_BothOff_NeverActsAndSaysSo()
    {
        var policy = new HeapTrimPolicy(0, TimeSpan.Zero);

        Assert.False(policy.Enabled);
        Assert.Equal(HeapAction.None, policy.Decide(At(TimeSpan.FromDays(1), allocated: long.MaxValue / 2, gen0: 0)));
    }

    [Theory]
    [InlineData(-1, 0, 0)]
    [InlineData(0, -1, 0)]
    [InlineData(0, 60, -1)]
    public void Constructor_NegativeSettings_Refused(long budget, int intervalSeconds, long trimGrowth) =>
        Assert.ThrowsAny<ArgumentOutOfRangeException>(() => new HeapTrimPolicy(budget, TimeSpan.FromSeconds(intervalSeconds), trimGrowth));

    private static HeapReading At(int seconds, long allocated, int gen0) => new(TimeSpan.FromSeconds(seconds), allocated, gen0);

    private static HeapReading At(TimeSpan uptime, long allocated = 0, int gen0 = 0) => new(uptime, allocated, gen0);

    private static HeapReading Resident(TimeSpan uptime, long resident) => new(uptime, 0, 0, resident);
}
