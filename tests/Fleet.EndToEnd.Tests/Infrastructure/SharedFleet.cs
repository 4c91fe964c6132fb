namespace Fleet.EndToEnd.Tests.Infrastructure;

/// <summary>
/// The fleet shared by the tests that leave it as they found it: topology, region admission and hostile
/// link traffic. Hello timeout and message limit are lowered so the hostile cases run fast and small.
/// </summary>
public sealed class SharedFleetFixture : FleetFixture
{
    public static readonly TimeSpan HelloTimeout = TimeSpan.FromSeconds(1);
    public const int MaxMessageBytes = 64 * 1024;

    protected override Dictionary<string, string?> AggregatorSettings() => new()
    {
        ["Link:HelloTimeout"] = "00:00:01",
        ["Link:MaxMessageBytes"] = "65536",
        // Two busy cores can delay a report by seconds; staleness is not under test here.
        ["Link:StaleAfter"] = "00:00:10",
    };
}

[CollectionDefinition(Name)]
public sealed class SharedFleetCollection : ICollectionFixture<SharedFleetFixture>
{
    public const string Name = "Shared fleet";
}
