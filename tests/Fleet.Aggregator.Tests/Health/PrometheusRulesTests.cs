using Fleet.Aggregator.Health;
using Fleet.Testing;
using Microsoft.Extensions.Configuration;

namespace Fleet.Aggregator.Tests.Health;

/// <summary>
/// The Prometheus rules generated from the alert catalog (deploy/prometheus): the checked-in file is what the
/// generator makes of the defaults, Prometheus' own promtool accepts it, its unit tests pass, and a
/// configuration's thresholds and hold durations reach the expressions.
/// </summary>
public sealed class PrometheusRulesTests
{
    private static string Deploy(string file) => Path.Combine(RepositoryRoot.Path, "deploy", "prometheus", file);

    private static string Defaults() => PrometheusRules.Render(AlertRuleSet.Default, TimeSpan.FromSeconds(2));

    [Fact]
    public void CheckedInRules_AreTheGeneratorsOutputForTheDefaults()
    {
        // After changing the catalog: fleetctl prometheus-rules > deploy/prometheus/fleet-alerts.rules.yml
        Assert.Equal(Defaults(), File.ReadAllText(Deploy("fleet-alerts.rules.yml")));
    }

    [Fact]
    public void Rules_PassPromtoolCheck_AndTheirUnitTests()
    {
        Promtool.AssertRulesValid(Defaults());
        Promtool.AssertRuleTestsPass(Deploy("fleet-alerts.tests.yml"));
    }

    [Fact]
    public void EveryCatalogRule_HasAnAlert_WithItsSeverityAndHoldDuration()
    {
        var yaml = Defaults();
        foreach (var rule in AlertRuleSet.Default.Rules)
        {
            var start = yaml.IndexOf($"      - alert: fleet_{rule.Name}\n", StringComparison.Ordinal);
            Assert.True(start >= 0, $"no alert for {rule.Name}");
            var end = yaml.IndexOf("      - alert:", start + 1, StringComparison.Ordinal);
            var alert = end < 0 ? yaml[start..] : yaml[start..end];
            Assert.Contains($"severity: {AlertRuleCatalog.SeverityName(rule.Definition.Severity)}\n", alert, StringComparison.Ordinal);
            Assert.Contains($"fleet_rule: {rule.Name}\n", alert, StringComparison.Ordinal);
            Assert.Equal(rule.Definition.For > TimeSpan.Zero, alert.Contains("        for: ", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void RenderFor_ConfiguredThresholdsHoldDurationsAndDisabledRules()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Alerts:cpu_high:Threshold"] = "90",
            ["Alerts:cpu_high:For"] = "00:10:00",
            ["Alerts:replication_lag_warning:Threshold"] = "30",
            ["Alerts:memory_high:Enabled"] = "false",
            ["Failover:ReplicationTimeout"] = "00:00:03",
        }).Build();

        var yaml = PrometheusRules.RenderFor(configuration);

        Assert.Contains("expr: \"fleet_host_cpu_ratio > 0.9\"\n        for: 10m\n", yaml, StringComparison.Ordinal);
        Assert.Contains("(fleet_pg_replication_replay_lag_seconds) > 30\"", yaml, StringComparison.Ordinal);
        Assert.Contains("wal_(receiver|sender)_timeout\\\"} > 3 or", yaml, StringComparison.Ordinal);
        Assert.DoesNotContain("fleet_memory_high", yaml, StringComparison.Ordinal);
        Promtool.AssertRulesValid(yaml);
    }

    [Fact]
    public void RenderFor_InvalidConfiguration_NamesTheKey()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Alerts:cpu_high:Threshold"] = "150",
        }).Build();

        var error = Assert.Throws<InvalidDataException>(() => PrometheusRules.RenderFor(configuration));
        Assert.Equal("Invalid alert rules: Alerts:cpu_high:Threshold must be a percentage above 0 and at most 100 (got 150).", error.Message);
    }
}
