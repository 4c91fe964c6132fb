using Fleet.Agent.Metrics;

namespace Fleet.Agent.Tests.Metrics;

/// <summary>The four renderings every exposition-wide check runs on: primary, replica, Postgres down, no snapshot.</summary>
internal static class MetricsScenarios
{
    public static readonly string[] All = ["primary", "replica", "down", "null"];

    public static TheoryData<string> Names => new(All);

    public static string Render(string name) => name switch
    {
        "primary" => AgentMetricsWriter.Render(MetricsFixtures.Primary(), MetricsFixtures.Facts(MetricsFixtures.Archive())),
        "replica" => AgentMetricsWriter.Render(MetricsFixtures.Replica(), MetricsFixtures.Facts(MetricsFixtures.Archive())),
        "down" => AgentMetricsWriter.Render(MetricsFixtures.Down(), MetricsFixtures.Facts()),
        "null" => AgentMetricsWriter.Render(null, MetricsFixtures.Facts()),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
    };
}
