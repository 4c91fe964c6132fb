using Fleet.Testing;

namespace Fleet.Agent.Tests.Metrics;

/// <summary>Every rendering must pass Prometheus' own parser and linter, and our structural checks.</summary>
public sealed class PromtoolValidationTests
{
    [Theory]
    [MemberData(nameof(MetricsScenarios.Names), MemberType = typeof(MetricsScenarios))]
    public void Rendering_passes_promtool_check_metrics(string scenario) =>
        Promtool.AssertValid(MetricsScenarios.Render(scenario));

    [Theory]
    [MemberData(nameof(MetricsScenarios.Names), MemberType = typeof(MetricsScenarios))]
    public void Rendering_has_unique_series_and_contiguous_families(string scenario)
    {
        var exposition = Exposition.Parse(MetricsScenarios.Render(scenario));

        Assert.NotEmpty(exposition.Samples);
        Assert.All(exposition.Families.Keys, name => Assert.StartsWith("fleet_", name, StringComparison.Ordinal));
    }

    [Fact]
    public void Cardinality_rendering_passes_promtool() =>
        Promtool.AssertValid(Fleet.Agent.Metrics.AgentMetricsWriter.Render(CardinalityTests.LargeCluster(databases: 50, tables: 100, topTables: 10), MetricsFixtures.Facts(MetricsFixtures.Archive())));
}
