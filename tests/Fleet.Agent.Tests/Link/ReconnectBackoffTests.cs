using Fleet.Agent.Link;

namespace Fleet.Agent.Tests.Link;

/// <summary>The reconnect delay alone: min·2^n capped at max, jittered uniformly within [half, full], reset only after a stable session.</summary>
public sealed class ReconnectBackoffTests
{
    private static readonly TimeSpan Min = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan Max = TimeSpan.FromSeconds(10);

    [Fact]
    public void Next_NoJitterDraw_DoublesFromMinUpToMaxThenStays()
    {
        var backoff = new ReconnectBackoff(Min, Max, new FixedRandom(1.0 - 1e-12));

        var delays = Enumerable.Range(0, 10).Select(_ => Math.Round(backoff.Next().TotalMilliseconds)).ToList();

        Assert.Equal([200, 400, 800, 1600, 3200, 6400, 10000, 10000, 10000, 10000], delays);
    }

    [Fact]
    public void Next_LowestJitterDraw_IsHalfTheCeiling()
    {
        var backoff = new ReconnectBackoff(Min, Max, new FixedRandom(0));

        var delays = Enumerable.Range(0, 8).Select(_ => backoff.Next().TotalMilliseconds).ToList();

        Assert.Equal([100, 200, 400, 800, 1600, 3200, 5000, 5000], delays);
    }

    [Fact]
    public void Next_RandomJitter_StaysWithinHalfAndFullCeiling()
    {
        var random = new Random(20250301);
        for (var run = 0; run < 200; run++)
        {
            var backoff = new ReconnectBackoff(Min, Max, random);
            for (var attempt = 0; attempt < 12; attempt++)
            {
                var ceiling = TimeSpan.FromTicks(Math.Min(Max.Ticks, Min.Ticks << attempt));
                var delay = backoff.Next();
                Assert.InRange(delay, ceiling / 2, ceiling);
            }
        }
    }

    [Fact]
    public void Next_RandomJitter_SpreadsAcrossTheRange()
    {
        // Agents of a region reconnecting after an aggregator restart must not all retry at once.
        var backoff = new ReconnectBackoff(Max, Max, new Random(7));

        var delays = Enumerable.Range(0, 1000).Select(_ => backoff.Next().TotalSeconds).ToList();

        Assert.True(delays.Min() < 5.5, $"min {delays.Min()}");
        Assert.True(delays.Max() > 9.5, $"max {delays.Max()}");
        Assert.InRange(delays.Average(), 7.2, 7.8);
    }

    [Fact]
    public void Next_ManyAttempts_NeverOverflowsOrExceedsMax()
    {
        var backoff = new ReconnectBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5), new Random(1));
        for (var growth = 0; growth < 9; growth++)
        {
            // 1 s · 2^9 = 512 s: past the 300 s cap from the tenth delay on.
            Assert.True(backoff.Next() <= TimeSpan.FromMinutes(5));
        }

        for (var attempt = 0; attempt < 10_000; attempt++)
        {
            Assert.InRange(backoff.Next(), TimeSpan.FromMinutes(2.5), TimeSpan.FromMinutes(5));
        }
    }

    [Fact]
    public void Next_MinEqualsMax_AlwaysWithinThatRange()
    {
        var backoff = new ReconnectBackoff(Min, Min, new Random(3));

        Assert.All(Enumerable.Range(0, 100).Select(_ => backoff.Next()), d => Assert.InRange(d, Min / 2, Min));
    }

    [Fact]
    public void Reset_StartsOverFromMin()
    {
        var backoff = new ReconnectBackoff(Min, Max, new FixedRandom(0));
        for (var i = 0; i < 6; i++)
        {
            backoff.Next();
        }

        backoff.Reset();

        Assert.Equal(TimeSpan.FromMilliseconds(100), backoff.Next());
        Assert.Equal(TimeSpan.FromMilliseconds(200), backoff.Next());
    }

    [Fact]
    public void SessionEnded_ShortOrNeverWelcomed_KeepsGrowing()
    {
        // A link welcomed and then lost at once (an aggregator shutting down) must not reconnect in a hot loop.
        var backoff = new ReconnectBackoff(Min, Max, new FixedRandom(0));
        var delays = new List<TimeSpan>();
        for (var i = 0; i < 4; i++)
        {
            backoff.SessionEnded(i % 2 == 0 ? TimeSpan.FromMilliseconds(5) : null);
            delays.Add(backoff.Next());
        }

        Assert.Equal([100, 200, 400, 800], delays.Select(d => d.TotalMilliseconds));
    }

    [Fact]
    public void SessionEnded_AfterAStableSession_StartsOverFromMin()
    {
        var backoff = new ReconnectBackoff(Min, Max, new FixedRandom(0));
        for (var i = 0; i < 6; i++)
        {
            backoff.Next();
        }

        backoff.SessionEnded(ReconnectBackoff.StableSession - TimeSpan.FromMilliseconds(1));
        Assert.Equal(TimeSpan.FromMilliseconds(5000), backoff.Next());

        backoff.SessionEnded(ReconnectBackoff.StableSession);
        Assert.Equal(TimeSpan.FromMilliseconds(100), backoff.Next());
    }

    /// <summary>A Random whose every draw is the same value.</summary>
    private sealed class FixedRandom(double value) : Random
    {
        public override double NextDouble() => value;

        protected override double Sample() => value;
    }
}
